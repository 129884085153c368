// The evidence file: the cluster configuration and the evidence as canonical JSON. Decoding is
// strict and demands the canonical bytes back, so no two files mean the same thing, and any
// change to a genuine file either breaks the format or breaks a signature.
//
//   {"format":"byzpaxos-evidence/1",
//    "cluster":{"f":1,"members":[{"id":0,"publicKey":"<hex>"},…],"clients":[{"id":1,"publicKey":"<hex>"},…]},
//    "evidence":{"kind":"equivocation","first":{"signer":2,"payload":"<hex>","signature":"<hex>"},"second":{…}}}
//
// on one line, then a newline. Clients are sorted by id, as the cluster id sorts them.
import { CLIENT_ID_MAX, FRAME_BYTES_MAX, NODE_ID_MAX } from '../base/limits.ts';
import type { SignedEnvelope } from '../messages/types.ts';
import type { ClusterConfig } from '../modes/byzantine/cluster.ts';
import { domainDigest, fromHex, toHex } from '../../crypto/digest.ts';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../../crypto/ed25519.ts';
import type { Evidence, EvidenceKind } from '../messages/evidence.ts';

export const EVIDENCE_FORMAT = 'byzpaxos-evidence/1';
const EVIDENCE_ID_DOMAIN = 'byzpaxos/evidence-id/v1';
/** Bytes of digest in an evidence id: 64 bits, plenty to tell one node's proofs apart. */
const EVIDENCE_ID_BYTES = 8;

export interface EvidenceFile {
  readonly cluster: ClusterConfig;
  readonly evidence: Evidence;
}

/** The envelopes of each kind, in file order. */
const ENVELOPES: { readonly [K in EvidenceKind]: readonly Exclude<keyof Extract<Evidence, { kind: K }>, 'kind'>[] } = {
  equivocation: ['first', 'second'],
  'commitment-mismatch': ['commitment', 'reveal'],
  'unjustified-new-ballot': ['newBallot'],
  'omitted-vote': ['vote', 'promise'],
};

const utf8 = new TextEncoder();

// --- encoding ----------------------------------------------------------------------------
// Object literals keep insertion order and every string is ASCII, so JSON.stringify is canonical.

export function encodeEvidenceFile(cluster: ClusterConfig, evidence: Evidence): string {
  return `${JSON.stringify({ format: EVIDENCE_FORMAT, cluster: clusterJson(cluster), evidence: evidenceJson(evidence) })}\n`;
}

/** A short, stable name for the evidence (e.g. for its file name): a digest of its canonical JSON. */
export function evidenceId(evidence: Evidence): string {
  return toHex(domainDigest(EVIDENCE_ID_DOMAIN, utf8.encode(JSON.stringify(evidenceJson(evidence)))).subarray(0, EVIDENCE_ID_BYTES));
}

function clusterJson(cluster: ClusterConfig): object {
  return {
    f: cluster.f,
    members: cluster.members.map((m) => ({ id: m.id, publicKey: toHex(m.publicKey) })),
    clients: [...cluster.clients].sort((a, b) => a.id - b.id).map((c) => ({ id: c.id, publicKey: toHex(c.publicKey) })),
  };
}

function evidenceJson(evidence: Evidence): object {
  const out: Record<string, unknown> = { kind: evidence.kind };
  for (const name of ENVELOPES[evidence.kind]) {
    const envelope = (evidence as unknown as Record<string, SignedEnvelope>)[name]!;
    out[name] = { signer: envelope.signer, payload: toHex(envelope.payload), signature: toHex(envelope.signature) };
  }
  return out;
}

// --- decoding ----------------------------------------------------------------------------

/** Throws a one-line Error naming the first thing wrong, e.g. `evidence.first.signature: not lowercase hex`. */
export function decodeEvidenceFile(text: string): EvidenceFile {
  const top = record(parseJson(text), 'file', ['format', 'cluster', 'evidence']);
  if (top.format !== EVIDENCE_FORMAT) fail('format', `expected ${JSON.stringify(EVIDENCE_FORMAT)}`);
  const file: EvidenceFile = { cluster: cluster(top.cluster, 'cluster'), evidence: evidence(top.evidence, 'evidence') };
  const canonical = encodeEvidenceFile(file.cluster, file.evidence);
  if (text !== canonical) {
    let offset = 0;
    while (text[offset] === canonical[offset]) offset++;
    fail('file', `not in canonical form (compact, fixed key order, clients by id, one trailing newline): differs at offset ${offset}`);
  }
  return file;
}

/**
 * `text` with the whitespace between JSON tokens removed and one trailing newline: the canonical
 * layout of a file that was only reformatted (pretty-printed by `jq .` or an editor, CRLF). The
 * strings of an evidence file hold no whitespace, so this changes no value; anything else that
 * differs from canonical (key order, escapes, number spellings) still fails decoding.
 */
export function withoutJsonWhitespace(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') {
      out += c;
    }
  }
  return `${out}\n`;
}

/**
 * A cluster configuration alone (e.g. `--config`), shaped like an evidence file's `cluster`.
 * Held to the same field rules, but any JSON layout will do: it is typed by people, not signed.
 */
export function decodeClusterFile(text: string): ClusterConfig {
  return cluster(parseJson(text), 'cluster');
}

function fail(path: string, problem: string): never {
  throw new Error(`${path}: ${problem}`);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    return fail('file', `not valid JSON (${(e as Error).message.replace(/\s+/g, ' ')})`);
  }
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'not an object');
  return value as Record<string, unknown>;
}

/** A plain object with exactly `keys`. */
function record(value: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  const obj = object(value, path);
  for (const key of Object.keys(obj)) if (!keys.includes(key)) fail(path, `unexpected key ${JSON.stringify(key)}`);
  for (const key of keys) if (!Object.hasOwn(obj, key)) fail(path, `missing key ${JSON.stringify(key)}`);
  return obj;
}

function array(value: unknown, path: string): readonly unknown[] {
  return Array.isArray(value) ? value : fail(path, 'not an array');
}

function uint(value: unknown, path: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) fail(path, `not an integer in 0..${max}`);
  return value;
}

/** Lowercase hex of exactly `length` bytes, or of at most `maxLength`. */
function hex(value: unknown, path: string, size: { readonly length: number } | { readonly maxLength: number }): Uint8Array {
  if (typeof value !== 'string') fail(path, 'not a string');
  if (!/^[0-9a-f]*$/.test(value)) fail(path, 'not lowercase hex');
  if (value.length % 2 !== 0) fail(path, 'odd number of hex digits');
  const bytes = value.length / 2;
  if ('length' in size && bytes !== size.length) fail(path, `${bytes} bytes, expected ${size.length}`);
  if ('maxLength' in size && bytes > size.maxLength) fail(path, `${bytes} bytes, more than ${size.maxLength}`);
  return fromHex(value);
}

function cluster(value: unknown, path: string): ClusterConfig {
  const obj = record(value, path, ['f', 'members', 'clients']);
  const key = (entry: unknown, at: string, max: number) => {
    const o = record(entry, at, ['id', 'publicKey']);
    return { id: uint(o.id, `${at}.id`, max), publicKey: hex(o.publicKey, `${at}.publicKey`, { length: PUBLIC_KEY_BYTES }) };
  };
  return {
    // Loose bound: validateCluster, run by every verification, knows the real one.
    f: uint(obj.f, `${path}.f`, NODE_ID_MAX),
    members: array(obj.members, `${path}.members`).map((m, i) => key(m, `${path}.members[${i}]`, NODE_ID_MAX)),
    clients: array(obj.clients, `${path}.clients`).map((c, i) => key(c, `${path}.clients[${i}]`, CLIENT_ID_MAX)),
  };
}

function evidence(value: unknown, path: string): Evidence {
  // The kind decides which keys the rest must have.
  const kind = object(value, path).kind;
  if (typeof kind !== 'string' || !Object.hasOwn(ENVELOPES, kind)) fail(`${path}.kind`, `not one of ${Object.keys(ENVELOPES).join(', ')}`);
  const names = ENVELOPES[kind as EvidenceKind];
  const obj = record(value, path, ['kind', ...names]);
  const out: Record<string, unknown> = { kind };
  for (const name of names) out[name] = envelope(obj[name], `${path}.${name}`);
  return out as unknown as Evidence;
}

function envelope(value: unknown, path: string): SignedEnvelope {
  const obj = record(value, path, ['signer', 'payload', 'signature']);
  return {
    type: 'signed',
    signer: uint(obj.signer, `${path}.signer`, NODE_ID_MAX),
    payload: hex(obj.payload, `${path}.payload`, { maxLength: FRAME_BYTES_MAX }),
    signature: hex(obj.signature, `${path}.signature`, { length: SIGNATURE_BYTES }),
  };
}
