// The patch ledger (seed 000 §6): patches apply hunk by hunk at exactly the lines they name; a
// broken patch (the content rule) is invalid before any tree is consulted; a conflicting one is
// refused at apply, changing nothing; the history is a hash chain every replica computes alike.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BREAK_MARKER,
  decodeLedgerOp,
  decodeLedgerResult,
  encodeLedgerOp,
  GENESIS_HEAD,
  nextHead,
  PatchLedger,
  type LedgerResult,
} from '../../src/app/patch-ledger.ts';
import { applyFile, parsePatch, PatchError } from '../../src/app/patch.ts';
import { sha256, toHex } from '../../crypto/digest.ts';

const CREATE_README = ['--- /dev/null', '+++ b/README', '@@ -0,0 +1,3 @@', '+one', '+two', '+three', ''].join('\n');
const EDIT_README = ['diff --git a/README b/README', 'index 1234567..89abcde 100644', '--- a/README', '+++ b/README', '@@ -1,3 +1,3 @@', ' one', '-two', '+TWO', ' three', ''].join('\n');
/** Made against the tree before EDIT_README: its context line 'two' is gone once that lands. */
const STALE_EDIT = ['--- a/README', '+++ b/README', '@@ -2,2 +2,2 @@', '-two', '+deux', ' three', ''].join('\n');
const BROKEN = ['--- a/README', '+++ b/README', '@@ -3,1 +3,2 @@', ' three', `+${BREAK_MARKER}: does not build`, ''].join('\n');

function patchOp(patch: string, message = 'a change'): Uint8Array {
  return encodeLedgerOp({ type: 'patch', message, patch });
}

function run(ledger: PatchLedger, patch: string, message?: string): LedgerResult {
  return decodeLedgerResult(ledger.apply(patchOp(patch, message)));
}

describe('patch format', () => {
  it('reads what git diff writes, and applies a hunk only at the line it names', () => {
    const patch = parsePatch(EDIT_README);
    expect(patch.files).toHaveLength(1);
    expect(patch.files[0]).toMatchObject({ path: 'README', kind: 'modify' });
    expect(applyFile('one\ntwo\nthree\n', patch.files[0]!)).toEqual({ content: 'one\nTWO\nthree\n' });
    // The same lines one further down: no offset search, a conflict.
    expect(applyFile('zero\none\ntwo\nthree\n', patch.files[0]!)).toEqual({ conflict: 'README: hunk 1 does not apply at line 1' });
  });

  it('refuses, naming the line, what it cannot read one way', () => {
    const bad: [string, RegExp][] = [
      ['--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b', /newline/],
      ['--- a/x\n+++ b/y\n@@ -1 +1 @@\n-a\n+b\n', /renames/],
      ['--- a/../x\n+++ b/../x\n@@ -1 +1 @@\n-a\n+b\n', /relative/],
      ['--- a/x\n+++ b/x\n@@ -1,2 +1 @@\n-a\n+b\n', /ends early/],
      ['--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n\\ No newline at end of file\n', /end with a newline/],
      ['--- a/x\n+++ b/x\n@@ -1 +5 @@\n-a\n+b\n', /new start/],
      ['hello\n', /expected '--- PATH'/],
    ];
    for (const [text, why] of bad) {
      expect(() => parsePatch(text), text).toThrow(PatchError);
      expect(() => parsePatch(text), text).toThrow(why);
    }
  });
});

describe('PatchLedger', () => {
  it('applies patches in order and chains their history', () => {
    const ledger = new PatchLedger();
    const first = run(ledger, CREATE_README, 'add README');
    const second = run(ledger, EDIT_README, 'shout two');
    const head1 = nextHead(GENESIS_HEAD, sha256(new TextEncoder().encode(CREATE_README)), 'add README');
    const head2 = nextHead(head1, sha256(new TextEncoder().encode(EDIT_README)), 'shout two');
    expect(first).toEqual({ type: 'applied', head: head1, count: 1 });
    expect(second).toEqual({ type: 'applied', head: head2, count: 2 });
    expect(ledger.tree()).toEqual([['README', 'one\nTWO\nthree\n']]);
    expect(decodeLedgerResult(ledger.apply(encodeLedgerOp({ type: 'cat', path: 'README' })))).toEqual({ type: 'file', content: 'one\nTWO\nthree\n' });
    const log = decodeLedgerResult(ledger.apply(encodeLedgerOp({ type: 'log' })));
    expect(log).toMatchObject({ type: 'log', head: head2, count: 2 });
    expect(log.type === 'log' && log.entries.map((e) => [e.index, e.message])).toEqual([[2, 'shout two'], [1, 'add README']]);
  });

  it('a broken patch is invalid (an acceptor never Verifies it); a conflicting one is valid but refused at apply, changing nothing', () => {
    const ledger = new PatchLedger();
    run(ledger, CREATE_README);
    run(ledger, EDIT_README);
    const before = toHex(ledger.stateDigest());
    expect(ledger.validate(patchOp(BROKEN))).toBe(false);
    expect(run(ledger, BROKEN)).toEqual({ type: 'refused', reason: `check: README: adds a line holding ${BREAK_MARKER}` });
    expect(ledger.validate(patchOp(STALE_EDIT))).toBe(true);
    expect(run(ledger, STALE_EDIT)).toEqual({ type: 'refused', reason: 'conflict: README: hunk 1 does not apply at line 2' });
    expect(toHex(ledger.stateDigest())).toBe(before);
    expect(ledger.count).toBe(2);
    // Reads and ops that are no ledger op at all are valid: apply answers them.
    expect(ledger.validate(encodeLedgerOp({ type: 'log' }))).toBe(true);
    expect(ledger.validate(new Uint8Array([99]))).toBe(true);
    expect(decodeLedgerResult(ledger.apply(new Uint8Array([99])))).toMatchObject({ type: 'refused' });
  });

  it('the check is pluggable: a rule of the repository\'s own', () => {
    const noDocs = new PatchLedger((patch) => (patch.files.some((f) => f.path.startsWith('docs/')) ? 'docs are frozen' : null));
    expect(noDocs.validate(patchOp(CREATE_README))).toBe(true);
    expect(noDocs.validate(patchOp(CREATE_README.replaceAll('README', 'docs/x')))).toBe(false);
  });

  it('replicas that apply the same patches end in the same state; a snapshot restores it, and a tampered history is refused', () => {
    const a = new PatchLedger();
    const b = new PatchLedger();
    for (const ledger of [a, b]) for (const p of [CREATE_README, STALE_EDIT, EDIT_README, BROKEN]) ledger.apply(patchOp(p));
    expect(toHex(a.stateDigest())).toBe(toHex(b.stateDigest()));
    const parts = Array.from({ length: a.partCount }, (_, i) => a.part(i));
    const c = new PatchLedger();
    c.restore(parts);
    expect(toHex(c.stateDigest())).toBe(toHex(a.stateDigest()));
    expect(c.tree()).toEqual(a.tree());
    const tampered = parts.slice();
    tampered[0] = tampered[0]!.slice();
    tampered[0][40] ^= 1;
    expect(() => new PatchLedger().restore(tampered)).toThrow(/does not chain/);
  });

  it('creates and deletes files; a create over an existing file and a partial delete conflict', () => {
    const ledger = new PatchLedger();
    run(ledger, CREATE_README);
    expect(run(ledger, CREATE_README)).toEqual({ type: 'refused', reason: 'conflict: README: already exists' });
    const partialDelete = ['--- a/README', '+++ /dev/null', '@@ -1,2 +0,0 @@', '-one', '-two', ''].join('\n');
    expect(run(ledger, partialDelete)).toMatchObject({ type: 'refused', reason: 'conflict: README: deleting it leaves 1 lines' });
    const fullDelete = ['--- a/README', '+++ /dev/null', '@@ -1,3 +0,0 @@', '-one', '-two', '-three', ''].join('\n');
    expect(run(ledger, fullDelete)).toMatchObject({ type: 'applied', count: 2 });
    expect(ledger.tree()).toEqual([]);
  });

  it('a file cannot be created where a directory is, nor under a file', () => {
    const ledger = new PatchLedger();
    run(ledger, CREATE_README.replaceAll('README', 'src/a'));
    expect(run(ledger, CREATE_README.replaceAll('README', 'src'))).toEqual({ type: 'refused', reason: 'conflict: src: is a directory' });
    expect(run(ledger, CREATE_README.replaceAll('README', 'src/a/b'))).toEqual({ type: 'refused', reason: 'conflict: src/a/b: src/a is a file' });
    expect(run(ledger, CREATE_README.replaceAll('README', 'src/b'))).toMatchObject({ type: 'applied', count: 2 });
  });

  it('ops round-trip, and a message must be one line', () => {
    const op = { type: 'patch', message: 'fix', patch: EDIT_README } as const;
    expect(decodeLedgerOp(encodeLedgerOp(op))).toEqual(op);
    expect(() => encodeLedgerOp({ ...op, message: 'a\nb' })).toThrow(/one line/);
  });
});

describe('untrusted ops', () => {
  const line = fc.oneof(fc.constantFrom('--- a/x', '+++ b/x', '--- /dev/null', '+++ /dev/null', '@@ -1,2 +1,2 @@', '@@ -0,0 +1 @@', ' a', '-a', '+b', '\\ No newline at end of file', 'diff --git a/x b/x'), fc.string({ maxLength: 12 }));
  it('validate and apply never throw, on any bytes and on any patch-like text; what validate refuses, apply refuses too', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(line, { maxLength: 12 }), (bytes, lines) => {
        const ledger = new PatchLedger();
        ledger.apply(patchOp(CREATE_README));
        ledger.validate(bytes);
        ledger.apply(bytes);
        const op = patchOp(`${lines.join('\n')}\n`);
        if (!ledger.validate(op)) expect(decodeLedgerResult(ledger.apply(op)).type).toBe('refused');
        else ledger.apply(op);
      }),
      { numRuns: 300 },
    );
  });
});

