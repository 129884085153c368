// The replicated key-value store: the StateMachine the cluster runs, its binary codec, and
// the single-key sequential model that both the store and the linearizability checker use,
// so the implementation and the spec it is checked against cannot drift apart.
import { sha256, sha256Concat } from '../../crypto/digest.ts';
import { OP_BYTES_MAX, RESULT_BYTES_MAX, STATE_BYTES_MAX, STATE_PART_BYTES_MAX } from '../base/limits.ts';
import { ChangedParts, type StateMachine } from '../core/state-machine.ts';
import { checkedUtf8, decodeTagged, fieldBytes, optionalBytes, Reader, taggedFields, Writer } from './app-codec.ts';

/** Longest key, in UTF-8 bytes. */
export const KV_KEY_BYTES_MAX = 256;
/** Longest value, in UTF-8 bytes. */
export const KV_VALUE_BYTES_MAX = 1024;
/** Most keys one store holds; creating a key beyond it fails with {ok:false}. */
export const KV_KEYS_MAX = 1_000_000;
/** log2 of KV_PARTS. */
const KV_PART_BITS = 12;
/** Parts the store is split into, by key hash: ≈ 16 KiB each when STATE_BYTES_MAX is reached. */
export const KV_PARTS = 1 << KV_PART_BITS;

export type KvOp =
  | { type: 'put'; key: string; value: string }
  | { type: 'get'; key: string }
  | { type: 'delete'; key: string }
  | { type: 'cas'; key: string; expected: string | null; value: string };

export interface KvResult {
  ok: boolean;
  value: string | null;
}

// Op wire format (integers big-endian, strings as u16 byte length + UTF-8):
//   put:    0x01 key value
//   get:    0x02 key
//   delete: 0x03 key
//   cas:    0x04 key present:u8 [expected] value     (present 0: expected is null)
// Result: ok:u8 present:u8 [value]. Every byte is checked, so each op has exactly one encoding.
const TAG_PUT = 1;
const TAG_GET = 2;
const TAG_DELETE = 3;
const TAG_CAS = 4;

/** Largest encoded op (a cas with maximal key, expected and value). */
export const KV_OP_BYTES_MAX = 1 + (2 + KV_KEY_BYTES_MAX) + 1 + 2 * (2 + KV_VALUE_BYTES_MAX);
/** Largest encoded result. */
export const KV_RESULT_BYTES_MAX = 2 + (2 + KV_VALUE_BYTES_MAX);

// Every op and result must fit the consensus layer's opaque-op and reply bounds.
if (KV_OP_BYTES_MAX > OP_BYTES_MAX) throw new Error('kv: KV_OP_BYTES_MAX exceeds OP_BYTES_MAX');
if (KV_RESULT_BYTES_MAX > RESULT_BYTES_MAX) throw new Error('kv: KV_RESULT_BYTES_MAX exceeds RESULT_BYTES_MAX');

/**
 * The single-key sequential spec: given the key's value before the op (null: absent),
 * the value after it and the op's result.
 */
export function kvModelStep(state: string | null, op: KvOp): { next: string | null; result: KvResult } {
  switch (op.type) {
    case 'put':
      return { next: op.value, result: { ok: true, value: state } };
    case 'get':
      return { next: state, result: { ok: true, value: state } };
    case 'delete':
      return { next: null, result: { ok: state !== null, value: state } };
    case 'cas': {
      const ok = state === op.expected;
      return { next: ok ? op.value : state, result: { ok, value: state } };
    }
  }
}

const encoder = new TextEncoder();

/** UTF-8 of `s`, checked (app-codec.ts), named as a kv field. */
function utf8(s: string, what: string, max: number): Uint8Array {
  return checkedUtf8(s, `kv: ${what}`, max);
}

export function encodeKvOp(op: KvOp): Uint8Array {
  const key = utf8(op.key, 'key', KV_KEY_BYTES_MAX);
  switch (op.type) {
    case 'put':
      return taggedFields(TAG_PUT, key, utf8(op.value, 'value', KV_VALUE_BYTES_MAX));
    case 'get':
      return taggedFields(TAG_GET, key);
    case 'delete':
      return taggedFields(TAG_DELETE, key);
    case 'cas': {
      const expected = op.expected === null ? null : utf8(op.expected, 'expected', KV_VALUE_BYTES_MAX);
      const value = utf8(op.value, 'value', KV_VALUE_BYTES_MAX);
      const w = new Writer(1 + fieldBytes(key) + optionalBytes(expected) + fieldBytes(value));
      w.u8(TAG_CAS);
      w.field(key);
      w.optional(expected);
      w.field(value);
      return w.done();
    }
  }
}

/** Decodes one op; throws an Error naming the defect on any non-canonical input. */
export function decodeKvOp(bytes: Uint8Array): KvOp {
  return decodeTagged(bytes, 'kv op', (tag, r): KvOp | undefined => {
    switch (tag) {
      case TAG_PUT: {
        const key = r.string('key', KV_KEY_BYTES_MAX);
        return { type: 'put', key, value: r.string('value', KV_VALUE_BYTES_MAX) };
      }
      case TAG_GET:
        return { type: 'get', key: r.string('key', KV_KEY_BYTES_MAX) };
      case TAG_DELETE:
        return { type: 'delete', key: r.string('key', KV_KEY_BYTES_MAX) };
      case TAG_CAS: {
        const key = r.string('key', KV_KEY_BYTES_MAX);
        const expected = r.optionalString('expected', KV_VALUE_BYTES_MAX);
        return { type: 'cas', key, expected, value: r.string('value', KV_VALUE_BYTES_MAX) };
      }
    }
    return undefined;
  });
}

export function encodeKvResult(result: KvResult): Uint8Array {
  const value = result.value === null ? null : utf8(result.value, 'value', KV_VALUE_BYTES_MAX);
  const w = new Writer(1 + optionalBytes(value));
  w.u8(result.ok ? 1 : 0);
  w.optional(value);
  return w.done();
}

export function decodeKvResult(bytes: Uint8Array): KvResult {
  const r = new Reader(bytes, 'kv result');
  const ok = r.flag('ok');
  const value = r.optionalString('value', KV_VALUE_BYTES_MAX);
  r.end();
  return { ok, value };
}

/** What apply returns for bytes that do not decode as an op: {ok:false, value:null}. */
export const KV_ERROR_RESULT: Uint8Array = encodeKvResult({ ok: false, value: null });

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

/** The part a key lives in: the top bits of its SHA-256, so keys spread evenly whatever they look like. */
export function kvPartOf(keyBytes: Uint8Array): number {
  const h = sha256(keyBytes);
  return ((h[0]! << 8) | h[1]!) >>> (16 - KV_PART_BITS);
}

/** Bytes an entry takes in its part's encoding: key and value, each with its u16 length. */
function entryBytes(keyBytes: number, valueBytes: number): number {
  return 2 + keyBytes + 2 + valueBytes;
}

/** Bytes of an empty part: its u32 entry count. */
const PART_HEADER_BYTES = 4;

interface KvBounds {
  readonly keysMax: number;
  readonly stateBytesMax: number;
}

/**
 * The replicated KV application, split into KV_PARTS parts by key hash. Part format: u32 count,
 * then per entry key and value (u16 length + UTF-8 each), keys strictly ascending by bytes so
 * equal states encode equally. A write that would take the store past `keysMax` keys, past
 * `stateBytesMax` bytes of entries, or its part past STATE_PART_BYTES_MAX fails with {ok:false}
 * and changes nothing: the same verdict on every replica.
 */
export class KvStore implements StateMachine {
  readonly partCount = KV_PARTS;
  /** Entries by part; a part's map is made on its first write (most stores are small). */
  private parts: (Map<string, string> | undefined)[] = new Array(KV_PARTS);
  /** Bytes of each part's entries, its header not included. */
  private partBytes = new Uint32Array(KV_PARTS);
  private keys = 0;
  private bytes = 0;
  private readonly changed = new ChangedParts();
  private readonly bounds: KvBounds;

  /** `keysMax` and `stateBytesMax` lower the bounds, so tests can reach them. */
  constructor(keysMax: number = KV_KEYS_MAX, stateBytesMax: number = STATE_BYTES_MAX) {
    if (!Number.isSafeInteger(keysMax) || keysMax < 0 || keysMax > KV_KEYS_MAX) {
      throw new Error(`kv: keysMax must be an integer in [0, ${KV_KEYS_MAX}], got ${keysMax}`);
    }
    if (!Number.isSafeInteger(stateBytesMax) || stateBytesMax < 0 || stateBytesMax > STATE_BYTES_MAX) {
      throw new Error(`kv: stateBytesMax must be an integer in [0, ${STATE_BYTES_MAX}], got ${stateBytesMax}`);
    }
    this.bounds = { keysMax, stateBytesMax };
  }

  get size(): number {
    return this.keys;
  }

  /** Bytes of entries held, as counted against stateBytesMax. */
  get stateBytes(): number {
    return this.bytes;
  }

  get(key: string): string | null {
    return this.parts[kvPartOf(encoder.encode(key))]?.get(key) ?? null;
  }

  apply(bytes: Uint8Array): Uint8Array {
    let op: KvOp;
    try {
      op = decodeKvOp(bytes);
    } catch {
      // A copy: callers own the returned bytes and must not be able to corrupt the constant.
      return KV_ERROR_RESULT.slice();
    }
    return encodeKvResult(this.execute(op));
  }

  private execute(op: KvOp): KvResult {
    const keyBytes = encoder.encode(op.key);
    const index = kvPartOf(keyBytes);
    const current = this.parts[index]?.get(op.key) ?? null;
    const { next, result } = kvModelStep(current, op);
    if (next === current) return result;
    const before = current === null ? 0 : entryBytes(keyBytes.length, encoder.encode(current).length);
    const after = next === null ? 0 : entryBytes(keyBytes.length, encoder.encode(next).length);
    if (current === null && this.keys >= this.bounds.keysMax) return { ok: false, value: null };
    if (this.bytes - before + after > this.bounds.stateBytesMax) return { ok: false, value: null };
    if (PART_HEADER_BYTES + this.partBytes[index]! - before + after > STATE_PART_BYTES_MAX) return { ok: false, value: null };
    const part = (this.parts[index] ??= new Map());
    if (next === null) part.delete(op.key);
    else part.set(op.key, next);
    this.keys += (next === null ? 0 : 1) - (current === null ? 0 : 1);
    this.bytes += after - before;
    this.partBytes[index]! += after - before;
    this.changed.add(index);
    return result;
  }

  /** Over every part's encoding: O(state), for comparing replicas, not for checkpoints. */
  stateDigest(): Uint8Array {
    const parts = function* (kv: KvStore): Generator<Uint8Array> {
      for (let i = 0; i < KV_PARTS; i++) yield kv.part(i);
    };
    return sha256Concat(parts(this));
  }

  part(index: number): Uint8Array {
    // A count of zero; most parts are empty in a small state, and a snapshot encodes every part once.
    if ((this.parts[index]?.size ?? 0) === 0) return new Uint8Array(PART_HEADER_BYTES);
    const entries: [Uint8Array, Uint8Array][] = [];
    for (const [key, value] of this.parts[index] ?? []) entries.push([encoder.encode(key), encoder.encode(value)]);
    entries.sort((a, b) => compareBytes(a[0], b[0]));
    const w = new Writer(PART_HEADER_BYTES + this.partBytes[index]!);
    w.u32(entries.length);
    for (const [key, value] of entries) {
      w.field(key);
      w.field(value);
    }
    return w.done();
  }

  takeChangedParts(): number[] {
    return this.changed.take();
  }

  restore(parts: readonly Uint8Array[]): void {
    if (parts.length !== KV_PARTS) throw new Error(`kv state: ${parts.length} parts, expected ${KV_PARTS}`);
    const decoded = parts.map(decodePart);
    let keys = 0;
    let total = 0;
    for (let i = 0; i < KV_PARTS; i++) {
      keys += decoded[i]!.size;
      total += parts[i]!.length - PART_HEADER_BYTES;
    }
    if (keys > this.bounds.keysMax) throw new Error(`kv state: ${keys} keys > ${this.bounds.keysMax}`);
    if (total > this.bounds.stateBytesMax) throw new Error(`kv state: ${total} bytes of entries > ${this.bounds.stateBytesMax}`);
    this.parts = decoded;
    this.partBytes = Uint32Array.from(parts, (bytes) => bytes.length - PART_HEADER_BYTES);
    this.keys = keys;
    this.bytes = total;
    this.changed.clear();
  }
}

/** Inverse of KvStore.part(index); throws an Error naming the defect on any non-canonical input. */
function decodePart(bytes: Uint8Array, index: number): Map<string, string> {
  const what = `kv part ${index}`;
  if (bytes.length > STATE_PART_BYTES_MAX) throw new Error(`${what}: ${bytes.length} bytes > STATE_PART_BYTES_MAX ${STATE_PART_BYTES_MAX}`);
  const r = new Reader(bytes, what);
  const count = r.u32('count');
  const entries = new Map<string, string>();
  let previous: Uint8Array | null = null;
  for (let i = 0; i < count; i++) {
    const keyBytes = r.field('key', KV_KEY_BYTES_MAX);
    if (previous !== null && compareBytes(previous, keyBytes) >= 0) throw new Error(`${what}: key ${i} is not strictly ascending`);
    if (kvPartOf(keyBytes) !== index) throw new Error(`${what}: key ${i} belongs to part ${kvPartOf(keyBytes)}`);
    previous = keyBytes;
    entries.set(r.text(keyBytes, 'key'), r.string('value', KV_VALUE_BYTES_MAX));
  }
  r.end();
  return entries;
}

/** An op as one line of a trace: `put k=v`, `get k`, …; bytes that are no op, by their length. */
export function formatKvOp(op: Uint8Array): string {
  try {
    const kv = decodeKvOp(op);
    switch (kv.type) {
      case 'put':
        return `put ${kv.key}=${kv.value}`;
      case 'get':
        return `get ${kv.key}`;
      case 'delete':
        return `delete ${kv.key}`;
      case 'cas':
        return `cas ${kv.key} ${kv.expected ?? '∅'}→${kv.value}`;
    }
  } catch {
    return `<${op.length} bytes>`;
  }
}
