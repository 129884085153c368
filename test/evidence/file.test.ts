// The evidence file format: canonical (one file per meaning), strict (every deviation named),
// and tamper-evident: no single-byte change to a genuine file survives decoding and verification.
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.ts';
import { decodeClusterFile, decodeEvidenceFile, encodeEvidenceFile, evidenceId } from '../../src/evidence/file.ts';
import type { EvidenceKind } from '../../src/messages/evidence.ts';
import { verifyEvidence } from '../../src/evidence/verify.ts';
import { GENUINE, fx } from './fixtures.ts';

const KINDS = Object.keys(GENUINE) as EvidenceKind[];
const file = (kind: EvidenceKind) => encodeEvidenceFile(fx.cluster, GENUINE[kind]);

describe('encoding', () => {
  it.each(KINDS)('%s: round trip, and the decoded evidence is genuine', (kind) => {
    const text = file(kind);
    const decoded = decodeEvidenceFile(text);
    expect(decoded).toEqual({ cluster: fx.cluster, evidence: GENUINE[kind] });
    expect(encodeEvidenceFile(decoded.cluster, decoded.evidence)).toBe(text);
    expect(verifyEvidence(decoded.cluster, decoded.evidence).ok).toBe(true);
  });

  it('is one compact line of fixed key order, lowercase hex, ending in a newline', () => {
    const text = file('equivocation');
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.slice(0, -1)).not.toMatch(/\s/);
    expect(text).toMatch(/^\{"format":"byzpaxos-evidence\/1","cluster":\{"f":1,"members":\[\{"id":0,"publicKey":"[0-9a-f]{64}"\},/);
    expect(text).toMatch(/"evidence":\{"kind":"equivocation","first":\{"signer":0,"payload":"[0-9a-f]+","signature":"[0-9a-f]{128}"\},"second":\{/);
  });

  it('lists clients by id, as the cluster id does, whatever order the configuration has', () => {
    const reversed = { ...fx.cluster, clients: [...fx.cluster.clients].reverse() };
    expect(encodeEvidenceFile(reversed, GENUINE.equivocation)).toBe(file('equivocation'));
  });

  it('evidenceId: 16 hex digits, a function of the evidence alone', () => {
    const ids = KINDS.map((kind) => evidenceId(GENUINE[kind]));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(ids).size).toBe(KINDS.length);
    expect(evidenceId(decodeEvidenceFile(file('equivocation')).evidence)).toBe(ids[0]);
    const { first, second } = GENUINE.equivocation;
    expect(evidenceId({ kind: 'equivocation', first: second, second: first })).not.toBe(ids[0]);
  });
});

describe('decoding is strict and names what is wrong', () => {
  /** The genuine equivocation file, edited as JSON and re-serialized compactly. */
  const edited = (edit: (json: Record<string, any>) => void): string => {
    const json = JSON.parse(file('equivocation')) as Record<string, any>;
    edit(json);
    return `${JSON.stringify(json)}\n`;
  };
  const text = file('equivocation');
  const cases: [string, string, RegExp][] = [
    ['not JSON', 'nope', /^file: not valid JSON \(.*\)$/],
    ['JSON, not an object', '[]\n', /^file: not an object$/],
    ['an extra key', edited((j) => (j.extra = 1)), /^file: unexpected key "extra"$/],
    ['a missing key', edited((j) => delete j.evidence), /^file: missing key "evidence"$/],
    ['another format', edited((j) => (j.format = 'byzpaxos-evidence/2')), /^format: expected "byzpaxos-evidence\/1"$/],
    ['uppercase hex', edited((j) => (j.evidence.first.signature = j.evidence.first.signature.toUpperCase())), /^evidence\.first\.signature: not lowercase hex$/],
    ['hex with a prefix', edited((j) => (j.evidence.first.payload = `0x${j.evidence.first.payload}`)), /^evidence\.first\.payload: not lowercase hex$/],
    ['odd-length hex', edited((j) => (j.evidence.second.payload += '0')), /^evidence\.second\.payload: odd number of hex digits$/],
    ['a short signature', edited((j) => (j.evidence.first.signature = j.evidence.first.signature.slice(2))), /^evidence\.first\.signature: 63 bytes, expected 64$/],
    ['a short key', edited((j) => (j.cluster.members[2].publicKey = '00')), /^cluster\.members\[2\]\.publicKey: 1 bytes, expected 32$/],
    ['a string for a number', edited((j) => (j.evidence.first.signer = '0')), /^evidence\.first\.signer: not an integer in 0\.\.255$/],
    ['a fraction', edited((j) => (j.evidence.first.signer = 0.5)), /^evidence\.first\.signer: not an integer in 0\.\.255$/],
    ['a negative id', edited((j) => (j.cluster.clients[0].id = -1)), /^cluster\.clients\[0\]\.id: not an integer in 0\.\.4294967295$/],
    ['a signer out of range', edited((j) => (j.evidence.second.signer = 256)), /^evidence\.second\.signer: not an integer in 0\.\.255$/],
    ['an unknown kind', edited((j) => (j.evidence.kind = 'lying')), /^evidence\.kind: not one of equivocation, commitment-mismatch, unjustified-new-ballot, omitted-vote$/],
    ['no kind', edited((j) => delete j.evidence.kind), /^evidence\.kind: not one of/],
    ['another kind’s envelope', edited((j) => (j.evidence.reveal = j.evidence.first)), /^evidence: unexpected key "reveal"$/],
    ['an envelope missing', edited((j) => delete j.evidence.second), /^evidence: missing key "second"$/],
    ['an envelope with a type', edited((j) => (j.evidence.first.type = 'signed')), /^evidence\.first: unexpected key "type"$/],
    ['members not a list', edited((j) => (j.cluster.members = {})), /^cluster\.members: not an array$/],
    ['a member not an object', edited((j) => (j.cluster.members[1] = null)), /^cluster\.members\[1\]: not an object$/],
    ['pretty-printed', `${JSON.stringify(JSON.parse(text), null, 2)}\n`, /^file: not in canonical form .*: differs at offset 1$/],
    ['no trailing newline', text.slice(0, -1), /^file: not in canonical form/],
    ['CRLF', `${text.slice(0, -1)}\r\n`, /^file: not in canonical form/],
    ['a leading byte-order mark', `\uFEFF${text}`, /^file: not valid JSON/],
    ['keys reordered', text.replace('"format":"byzpaxos-evidence/1","cluster":', '"cluster":').replace(',"evidence"', ',"format":"byzpaxos-evidence/1","evidence"'), /^file: not in canonical form/],
    ['clients out of order', edited((j) => j.cluster.clients.reverse()), /^file: not in canonical form/],
    ['a number spelled otherwise', text.replace('"f":1', '"f":1.0'), /^file: not in canonical form/],
    ['an escaped character', text.replace('"kind":"equivocation"', '"kind":"\\u0065quivocation"'), /^file: not in canonical form/],
    ['a duplicated key', text.replace('"f":1', '"f":2,"f":1'), /^file: not in canonical form/],
  ];
  it.each(cases)('%s', (_name, input, message) => {
    expect(() => decodeEvidenceFile(input)).toThrow(message);
  });

  it('a --config cluster may be laid out freely, but its fields follow the same rules', () => {
    const cluster = JSON.parse(text).cluster as object;
    expect(decodeClusterFile(JSON.stringify(cluster, null, 2))).toEqual(fx.cluster);
    expect(() => decodeClusterFile(JSON.stringify({ ...cluster, n: 4 }))).toThrow(/^cluster: unexpected key "n"$/);
  });
});

describe('tampering: every single-byte change to a genuine file is rejected', () => {
  const utf8 = new TextDecoder();
  const PRINTABLE_FIRST = 0x20;
  const PRINTABLE_LAST = 0x7e;
  /** The next printable ASCII byte after `byte`, cyclically: a change a text editor could make. */
  const nextPrintable = (byte: number) => (byte < PRINTABLE_FIRST || byte >= PRINTABLE_LAST ? PRINTABLE_FIRST : byte + 1);

  it.each(KINDS)('%s', (kind) => {
    const bytes = new TextEncoder().encode(file(kind));
    const rng = new SeededRng(KINDS.indexOf(kind) + 1);
    const survivors: string[] = [];
    let decoded = 0;
    for (let offset = 0; offset < bytes.length; offset++) {
      const random = rng.int(255);
      // Per byte: the next printable byte, and one other byte value at random (any of 255).
      for (const value of [nextPrintable(bytes[offset]!), random >= bytes[offset]! ? random + 1 : random]) {
        const tampered = bytes.slice();
        tampered[offset] = value;
        let parsed;
        try {
          parsed = decodeEvidenceFile(utf8.decode(tampered));
        } catch {
          continue;
        }
        decoded++;
        if (verifyEvidence(parsed.cluster, parsed.evidence).ok) survivors.push(`offset ${offset}: 0x${bytes[offset]!.toString(16)} -> 0x${value.toString(16)}`);
      }
    }
    expect(survivors).toEqual([]);
    // Most changes land in hex and decode: the signatures, not the format, must catch those.
    expect(decoded).toBeGreaterThan(bytes.length / 2);
  });
});
