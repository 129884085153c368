// The replicated key-value store: the StateMachine the cluster runs, its binary codec, and
// the single-key sequential model that both the store and the linearizability checker use,
// so the implementation and the spec it is checked against cannot drift apart.
import { sha256 } from '@noble/hashes/sha2.js';
import { OP_BYTES_MAX, RESULT_BYTES_MAX } from '../core/limits.ts';
import type { StateMachine } from './state-machine.ts';

/** Longest key, in UTF-8 bytes. */
export const KV_KEY_BYTES_MAX = 256;
/** Longest value, in UTF-8 bytes. */
export const KV_VALUE_BYTES_MAX = 1024;
/** Most keys one store holds; creating a key beyond it fails with {ok:false}. */
export const KV_KEYS_MAX = 1_000_000;

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
// ignoreBOM: a leading U+FEFF is content, not a marker; stripping it would break round trips.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 of `s`, checked; lone surrogates are rejected because TextEncoder would silently replace them. */
function utf8(s: string, what: string, max: number): Uint8Array {
  if (!s.isWellFormed()) throw new Error(`kv: ${what} contains a lone surrogate`);
  const bytes = encoder.encode(s);
  if (bytes.length > max) throw new Error(`kv: ${what} too long: ${bytes.length} bytes > ${max}`);
  return bytes;
}

class Writer {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private pos = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(v: number): void {
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }

  u16(v: number): void {
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }

  u32(v: number): void {
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }

  /** u16 length prefix, then the bytes. */
  field(b: Uint8Array): void {
    this.u16(b.length);
    this.bytes.set(b, this.pos);
    this.pos += b.length;
  }

  done(): Uint8Array {
    if (this.pos !== this.bytes.length) throw new Error(`kv: encoder wrote ${this.pos} of ${this.bytes.length} bytes`);
    return this.bytes;
  }
}

class Reader {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  /** Names the thing being decoded in error messages. */
  private readonly what: string;
  private pos = 0;

  constructor(bytes: Uint8Array, what: string) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.what = what;
  }

  private need(n: number, field: string): void {
    const have = this.bytes.length - this.pos;
    if (have < n) throw new Error(`${this.what}: truncated ${field} at offset ${this.pos}: need ${n} bytes, have ${have}`);
  }

  u8(field: string): number {
    this.need(1, field);
    const v = this.view.getUint8(this.pos);
    this.pos += 1;
    return v;
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  /** A 0/1 byte. */
  flag(field: string): boolean {
    const v = this.u8(field);
    if (v > 1) throw new Error(`${this.what}: ${field} byte must be 0 or 1, got ${v}`);
    return v === 1;
  }

  /** u16 length-prefixed UTF-8, at most `max` bytes; the bound is checked before reading. */
  field(field: string, max: number): Uint8Array {
    const len = this.u16(`${field} length`);
    if (len > max) throw new Error(`${this.what}: ${field} too long: ${len} bytes > ${max}`);
    this.need(len, field);
    const b = this.bytes.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }

  string(field: string, max: number): string {
    return this.text(this.field(field, max), field);
  }

  /** Strict UTF-8 decoding of bytes already read. */
  text(b: Uint8Array, field: string): string {
    try {
      return decoder.decode(b);
    } catch {
      throw new Error(`${this.what}: ${field} is not valid UTF-8`);
    }
  }

  end(): void {
    const left = this.bytes.length - this.pos;
    if (left !== 0) throw new Error(`${this.what}: ${left} trailing bytes after offset ${this.pos}`);
  }
}

export function encodeKvOp(op: KvOp): Uint8Array {
  const key = utf8(op.key, 'key', KV_KEY_BYTES_MAX);
  switch (op.type) {
    case 'put': {
      const value = utf8(op.value, 'value', KV_VALUE_BYTES_MAX);
      const w = new Writer(1 + 2 + key.length + 2 + value.length);
      w.u8(TAG_PUT);
      w.field(key);
      w.field(value);
      return w.done();
    }
    case 'get':
    case 'delete': {
      const w = new Writer(1 + 2 + key.length);
      w.u8(op.type === 'get' ? TAG_GET : TAG_DELETE);
      w.field(key);
      return w.done();
    }
    case 'cas': {
      const expected = op.expected === null ? null : utf8(op.expected, 'expected', KV_VALUE_BYTES_MAX);
      const value = utf8(op.value, 'value', KV_VALUE_BYTES_MAX);
      const expectedBytes = expected === null ? 0 : 2 + expected.length;
      const w = new Writer(1 + 2 + key.length + 1 + expectedBytes + 2 + value.length);
      w.u8(TAG_CAS);
      w.field(key);
      w.u8(expected === null ? 0 : 1);
      if (expected !== null) w.field(expected);
      w.field(value);
      return w.done();
    }
  }
}

/** Decodes one op; throws an Error naming the defect on any non-canonical input. */
export function decodeKvOp(bytes: Uint8Array): KvOp {
  const r = new Reader(bytes, 'kv op');
  const tag = r.u8('tag');
  let op: KvOp;
  switch (tag) {
    case TAG_PUT: {
      const key = r.string('key', KV_KEY_BYTES_MAX);
      op = { type: 'put', key, value: r.string('value', KV_VALUE_BYTES_MAX) };
      break;
    }
    case TAG_GET:
      op = { type: 'get', key: r.string('key', KV_KEY_BYTES_MAX) };
      break;
    case TAG_DELETE:
      op = { type: 'delete', key: r.string('key', KV_KEY_BYTES_MAX) };
      break;
    case TAG_CAS: {
      const key = r.string('key', KV_KEY_BYTES_MAX);
      const expected = r.flag('expected-present') ? r.string('expected', KV_VALUE_BYTES_MAX) : null;
      op = { type: 'cas', key, expected, value: r.string('value', KV_VALUE_BYTES_MAX) };
      break;
    }
    default:
      throw new Error(`kv op: unknown tag ${tag}`);
  }
  r.end();
  return op;
}

export function encodeKvResult(result: KvResult): Uint8Array {
  const value = result.value === null ? null : utf8(result.value, 'value', KV_VALUE_BYTES_MAX);
  const w = new Writer(2 + (value === null ? 0 : 2 + value.length));
  w.u8(result.ok ? 1 : 0);
  w.u8(value === null ? 0 : 1);
  if (value !== null) w.field(value);
  return w.done();
}

export function decodeKvResult(bytes: Uint8Array): KvResult {
  const r = new Reader(bytes, 'kv result');
  const ok = r.flag('ok');
  const value = r.flag('value-present') ? r.string('value', KV_VALUE_BYTES_MAX) : null;
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

/**
 * The replicated KV application. Snapshot format: u32 count, then per entry key and value
 * (u16 length + UTF-8 each), keys strictly ascending by bytes so equal states encode equally.
 */
export class KvStore implements StateMachine {
  private readonly entries = new Map<string, string>();
  private readonly keysMax: number;

  /** `keysMax` lowers the key bound, so tests can reach it. */
  constructor(keysMax: number = KV_KEYS_MAX) {
    if (!Number.isSafeInteger(keysMax) || keysMax < 0 || keysMax > KV_KEYS_MAX) {
      throw new Error(`kv: keysMax must be an integer in [0, ${KV_KEYS_MAX}], got ${keysMax}`);
    }
    this.keysMax = keysMax;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): string | null {
    return this.entries.get(key) ?? null;
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
    const current = this.entries.get(op.key) ?? null;
    const { next, result } = kvModelStep(current, op);
    if (next === null) {
      this.entries.delete(op.key);
    } else {
      if (current === null && this.entries.size >= this.keysMax) return { ok: false, value: null };
      this.entries.set(op.key, next);
    }
    return result;
  }

  stateDigest(): Uint8Array {
    return sha256(this.snapshot());
  }

  snapshot(): Uint8Array {
    const sorted: [Uint8Array, Uint8Array][] = [];
    let size = 4;
    for (const [key, value] of this.entries) {
      const entry: [Uint8Array, Uint8Array] = [encoder.encode(key), encoder.encode(value)];
      size += 2 + entry[0].length + 2 + entry[1].length;
      sorted.push(entry);
    }
    sorted.sort((a, b) => compareBytes(a[0], b[0]));
    const w = new Writer(size);
    w.u32(sorted.length);
    for (const [key, value] of sorted) {
      w.field(key);
      w.field(value);
    }
    return w.done();
  }

  restore(snapshot: Uint8Array): void {
    const restored = KvStore.restore(snapshot, this.keysMax);
    this.entries.clear();
    for (const [key, value] of restored.entries) this.entries.set(key, value);
  }

  /** Inverse of snapshot(); throws an Error naming the defect on any non-canonical input. */
  static restore(bytes: Uint8Array, keysMax: number = KV_KEYS_MAX): KvStore {
    const store = new KvStore(keysMax);
    const r = new Reader(bytes, 'kv snapshot');
    const count = r.u32('count');
    if (count > keysMax) throw new Error(`kv snapshot: ${count} keys > ${keysMax}`);
    let previous: Uint8Array | null = null;
    for (let i = 0; i < count; i++) {
      const keyBytes = r.field('key', KV_KEY_BYTES_MAX);
      if (previous !== null && compareBytes(previous, keyBytes) >= 0) {
        throw new Error(`kv snapshot: key ${i} is not strictly ascending`);
      }
      previous = keyBytes;
      store.entries.set(r.text(keyBytes, 'key'), r.string('value', KV_VALUE_BYTES_MAX));
    }
    r.end();
    return store;
  }
}
