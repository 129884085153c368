// The replicated patch ledger (seed 000 §6, "Paxos ... in combination with a distributed version
// control system"): the state is a tree of text files and the history of the patches applied to
// it; a command is a patch (patch.ts) with a one-line message. Each member's repository is an
// acceptor that accepts a patch only if it passes its check; every honest repository applies the
// same patches in the same order, so all end with the same tree and the same history, a hash chain.
//
// A patch is judged in two steps, because an acceptor may Verify slot s before it has executed
// slot s−1 (pipelining), so it cannot know the tree a patch will meet:
//   - validate, before Verify: it parses and passes the check (by default the content rule: no
//     line it adds holds BREAK_MARKER). It reads the patch alone, so every acceptor reaches the
//     same verdict; a patch that fails it is never decided (a Byzantine leader cannot get it past
//     the f+1 honest acceptors of a Verify quorum).
//   - apply, at execution: it applies cleanly to the tree, hunk by hunk at exactly the lines it
//     names. Every replica meets the same tree there, so a conflicting patch is refused
//     everywhere alike: decided, but a no-op, recorded in no history.
// A line-wise check keeps holding for the whole tree: lines are never split or joined, so a tree
// whose lines all pass it and a patch whose added lines all pass it give a tree that does.
import { bytesEqual, domainDigest, sha256 } from '../../crypto/digest.ts';
import { OP_BYTES_MAX, RESULT_BYTES_MAX, STATE_PART_BYTES_MAX } from '../base/limits.ts';
import { ChangedParts, type StateMachine } from '../core/state-machine.ts';
import { checkedUtf8, decodeTagged, fieldBytes, optionalBytes, Reader, taggedFields, Writer } from './app-codec.ts';
import { applyFile, parsePatch, pathDefect, PatchError, PATCH_PATH_BYTES_MAX, type FilePatch, type Patch } from './patch.ts';

/** What the default check refuses in an added line: the mark of a change that breaks the tree. */
export const BREAK_MARKER = 'TODO-BREAK';
/** Longest patch message, in UTF-8 bytes. */
export const LEDGER_MESSAGE_BYTES_MAX = 120;
/** Most patches one history holds; later patches are refused (deterministically, everywhere). */
export const LEDGER_HISTORY_MAX = 4096;
/** Most bytes of file content the tree holds. */
export const LEDGER_TREE_BYTES_MAX = 8 * 1024 * 1024;
/** History entries a `log` answer carries, newest first. */
export const LEDGER_LOG_ENTRIES_MAX = 16;
/** Parts the files are spread over, by path hash; part 0 is the history. */
const FILE_PARTS = 64;
/** Longest reason a refusal gives. */
const REASON_BYTES_MAX = 512;

/**
 * An acceptor's check (seed 000 §6: "other checks ... such as virus checking"): why it refuses
 * the patch, or null. It sees the patch alone, never the tree, and must be deterministic and fast:
 * every member runs the same check on every patch, before it Verifies.
 */
export type LedgerCheck = (patch: Patch) => string | null;

/** The default check: no added line holds BREAK_MARKER. */
export const noBreakMarker: LedgerCheck = (patch) => {
  for (const file of patch.files) {
    for (const hunk of file.hunks) if (hunk.added.some((line) => line.includes(BREAK_MARKER))) return `${file.path}: adds a line holding ${BREAK_MARKER}`;
  }
  return null;
};

export type LedgerOp =
  | { readonly type: 'patch'; readonly message: string; readonly patch: string }
  | { readonly type: 'log' }
  | { readonly type: 'cat'; readonly path: string }
  | { readonly type: 'files' };

export interface LogEntry {
  /** 1-based position in the history. */
  readonly index: number;
  readonly message: string;
  /** SHA-256 of the patch text. */
  readonly patchDigest: Uint8Array;
}

export type LedgerResult =
  | { readonly type: 'applied'; readonly head: Uint8Array; readonly count: number }
  | { readonly type: 'refused'; readonly reason: string }
  | { readonly type: 'log'; readonly head: Uint8Array; readonly count: number; readonly entries: readonly LogEntry[] }
  | { readonly type: 'file'; readonly content: string | null }
  | { readonly type: 'files'; readonly paths: readonly string[]; readonly truncated: boolean };

// Op wire format (strings: u16 byte length + UTF-8): patch 0x01 message text; log 0x02; cat 0x03 path; files 0x04.
const OP_PATCH = 1;
const OP_LOG = 2;
const OP_CAT = 3;
const OP_FILES = 4;
// Result: a tag byte, then applied head(32) count:u32 | refused reason | log head count n:u8
// n×(index:u32 digest(32) message) | file present:u8 [content] | files truncated:u8 n:u16 n×path.
const R_APPLIED = 1;
const R_REFUSED = 2;
const R_LOG = 3;
const R_FILE = 4;
const R_FILES = 5;
/** Bytes of an op around the patch text: tag, message field, text length. */
const PATCH_OP_OVERHEAD = 1 + 2 + LEDGER_MESSAGE_BYTES_MAX + 2;
/** Longest patch text one op carries. */
export const LEDGER_PATCH_BYTES_MAX = OP_BYTES_MAX - PATCH_OP_OVERHEAD;
/** Longest file a `cat` answer carries. */
export const LEDGER_CAT_BYTES_MAX = RESULT_BYTES_MAX - 4;

const encoder = new TextEncoder();

export function encodeLedgerOp(op: LedgerOp): Uint8Array {
  switch (op.type) {
    case 'patch': {
      const message = checkedUtf8(op.message, 'ledger: message', LEDGER_MESSAGE_BYTES_MAX);
      if (/[\n\r]/.test(op.message)) throw new Error('ledger: message must be one line');
      return taggedFields(OP_PATCH, message, checkedUtf8(op.patch, 'ledger: patch', LEDGER_PATCH_BYTES_MAX));
    }
    case 'log':
      return taggedFields(OP_LOG);
    case 'files':
      return taggedFields(OP_FILES);
    case 'cat':
      return taggedFields(OP_CAT, checkedUtf8(op.path, 'ledger: path', PATCH_PATH_BYTES_MAX));
  }
}

/** Decodes one op; throws an Error naming the defect on any non-canonical input. */
export function decodeLedgerOp(bytes: Uint8Array): LedgerOp {
  return decodeTagged(bytes, 'ledger op', (tag, r): LedgerOp | undefined => {
    switch (tag) {
      case OP_PATCH: {
        const message = r.string('message', LEDGER_MESSAGE_BYTES_MAX);
        return { type: 'patch', message, patch: r.string('patch', LEDGER_PATCH_BYTES_MAX) };
      }
      case OP_LOG:
        return { type: 'log' };
      case OP_CAT:
        return { type: 'cat', path: r.string('path', PATCH_PATH_BYTES_MAX) };
      case OP_FILES:
        return { type: 'files' };
    }
    return undefined;
  });
}

export function encodeLedgerResult(result: LedgerResult): Uint8Array {
  switch (result.type) {
    case 'applied': {
      const w = new Writer(1 + 32 + 4);
      w.u8(R_APPLIED);
      w.raw(result.head);
      w.u32(result.count);
      return w.done();
    }
    case 'refused': {
      // Cut by code points, so a long reason still decodes.
      let reason = encoder.encode(result.reason);
      for (let chars = [...result.reason]; reason.length > REASON_BYTES_MAX; chars = chars.slice(0, -1)) reason = encoder.encode(chars.join(''));
      return taggedFields(R_REFUSED, reason);
    }
    case 'log': {
      const entries = result.entries.map((e) => ({ ...e, message: encoder.encode(e.message) }));
      const w = new Writer(1 + 32 + 4 + 1 + entries.reduce((sum, e) => sum + 4 + 32 + fieldBytes(e.message), 0));
      w.u8(R_LOG);
      w.raw(result.head);
      w.u32(result.count);
      w.u8(entries.length);
      for (const e of entries) {
        w.u32(e.index);
        w.raw(e.patchDigest);
        w.field(e.message);
      }
      return w.done();
    }
    case 'file': {
      const content = result.content === null ? null : encoder.encode(result.content);
      const w = new Writer(1 + optionalBytes(content));
      w.u8(R_FILE);
      w.optional(content);
      return w.done();
    }
    case 'files': {
      const paths = result.paths.map((p) => encoder.encode(p));
      const w = new Writer(1 + 1 + 2 + paths.reduce((sum, p) => sum + fieldBytes(p), 0));
      w.u8(R_FILES);
      w.u8(result.truncated ? 1 : 0);
      w.u16(paths.length);
      for (const p of paths) w.field(p);
      return w.done();
    }
  }
}

export function decodeLedgerResult(bytes: Uint8Array): LedgerResult {
  return decodeTagged(bytes, 'ledger result', (tag, r): LedgerResult | undefined => {
    switch (tag) {
      case R_APPLIED:
        return { type: 'applied', head: r.raw(32, 'head').slice(), count: r.u32('count') };
      case R_REFUSED:
        return { type: 'refused', reason: r.string('reason', REASON_BYTES_MAX) };
      case R_LOG: {
        const head = r.raw(32, 'head').slice();
        const count = r.u32('count');
        const entries: LogEntry[] = [];
        for (let n = r.u8('entries'), i = 0; i < n; i++) {
          entries.push({ index: r.u32('index'), patchDigest: r.raw(32, 'digest').slice(), message: r.string('message', LEDGER_MESSAGE_BYTES_MAX) });
        }
        return { type: 'log', head, count, entries };
      }
      case R_FILE:
        return { type: 'file', content: r.optionalString('content', LEDGER_CAT_BYTES_MAX) };
      case R_FILES: {
        const truncated = r.flag('truncated');
        const paths: string[] = [];
        for (let n = r.u16('paths'), i = 0; i < n; i++) paths.push(r.string('path', PATCH_PATH_BYTES_MAX));
        return { type: 'files', paths, truncated };
      }
    }
    return undefined;
  });
}

type Judged = { readonly patch: Patch; readonly reason: null } | { readonly patch: null; readonly reason: string };

/** The parsed patch, or why an acceptor refuses it before any tree is consulted (what validate decides). */
export function judgePatch(text: string, check: LedgerCheck = noBreakMarker): Judged {
  let patch: Patch;
  try {
    patch = parsePatch(text);
  } catch (e) {
    if (e instanceof PatchError) return { patch: null, reason: e.message };
    throw e;
  }
  const refused = check(patch);
  return refused === null ? { patch, reason: null } : { patch: null, reason: `check: ${refused}` };
}

/** The head of the empty history. */
export const GENESIS_HEAD: Uint8Array = domainDigest('byzpaxos/ledger-head/v1');

/** The history's next head: the hash chain every honest repository computes alike. */
export function nextHead(head: Uint8Array, patchDigest: Uint8Array, message: string): Uint8Array {
  return domainDigest('byzpaxos/ledger-head/v1', head, patchDigest, encoder.encode(message));
}

/** The file part a path lives in (1..FILE_PARTS; part 0 is the history). */
function partOf(path: string): number {
  const h = sha256(encoder.encode(path));
  return 1 + (((h[0]! << 8) | h[1]!) % FILE_PARTS);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface HistoryEntry {
  readonly patchDigest: Uint8Array;
  readonly message: string;
}

/**
 * The ledger as a StateMachine. Part 0: head(32) count:u32, then per entry digest(32) message;
 * parts 1..64: u32 count, then per file path (u16 + UTF-8) and content (u32 + UTF-8), paths
 * ascending, so equal trees encode equally. restore recomputes the head from the entries.
 */
export class PatchLedger implements StateMachine {
  readonly partCount = 1 + FILE_PARTS;
  private readonly check: LedgerCheck;
  private files: Map<string, string>[] = Array.from({ length: FILE_PARTS }, () => new Map());
  private history: HistoryEntry[] = [];
  private headValue: Uint8Array = GENESIS_HEAD;
  private treeBytes = 0;
  private readonly changed = new ChangedParts();

  constructor(check: LedgerCheck = noBreakMarker) {
    this.check = check;
  }

  get head(): Uint8Array {
    return this.headValue;
  }

  get count(): number {
    return this.history.length;
  }

  /** Every file, by path ascending. */
  tree(): [string, string][] {
    return this.files.flatMap((m) => [...m]).sort((a, b) => compareStrings(a[0], b[0]));
  }

  entries(): LogEntry[] {
    return this.history.map((e, i) => ({ index: i + 1, ...e }));
  }

  /** Patches must parse and pass the check; every other op is valid (a read, or bytes apply answers as an error). */
  validate(op: Uint8Array): boolean {
    let decoded: LedgerOp;
    try {
      decoded = decodeLedgerOp(op);
    } catch {
      return true;
    }
    return decoded.type !== 'patch' || this.judge(decoded.patch).patch !== null;
  }

  apply(bytes: Uint8Array): Uint8Array {
    let op: LedgerOp;
    try {
      op = decodeLedgerOp(bytes);
    } catch (e) {
      return encodeLedgerResult({ type: 'refused', reason: (e as Error).message });
    }
    return encodeLedgerResult(this.execute(op));
  }

  private execute(op: LedgerOp): LedgerResult {
    switch (op.type) {
      case 'patch':
        return this.applyPatch(op.message, op.patch);
      case 'log': {
        const entries = this.entries().slice(-LEDGER_LOG_ENTRIES_MAX).reverse();
        return { type: 'log', head: this.headValue, count: this.history.length, entries };
      }
      case 'cat': {
        const content = this.files[partOf(op.path) - 1]!.get(op.path);
        if (content !== undefined && encoder.encode(content).length > LEDGER_CAT_BYTES_MAX) return { type: 'refused', reason: `${op.path}: larger than ${LEDGER_CAT_BYTES_MAX} bytes` };
        return { type: 'file', content: content ?? null };
      }
      case 'files': {
        const paths: string[] = [];
        let bytes = 4;
        for (const [path] of this.tree()) {
          bytes += 2 + encoder.encode(path).length;
          if (bytes > RESULT_BYTES_MAX) return { type: 'files', paths, truncated: true };
          paths.push(path);
        }
        return { type: 'files', paths, truncated: false };
      }
    }
  }

  private judge(text: string): Judged {
    return judgePatch(text, this.check);
  }

  /** All of it or nothing: a refused patch changes neither tree nor history. */
  private applyPatch(message: string, text: string): LedgerResult {
    const judged = this.judge(text);
    if (judged.patch === null) return { type: 'refused', reason: judged.reason };
    if (/[\n\r]/.test(message)) return { type: 'refused', reason: 'message must be one line' };
    if (this.history.length >= LEDGER_HISTORY_MAX) return { type: 'refused', reason: `history full (${LEDGER_HISTORY_MAX} patches)` };
    const updates: [FilePatch, string | null][] = [];
    let treeBytes = this.treeBytes;
    const partBytes = new Map<number, number>();
    for (const file of judged.patch.files) {
      const part = partOf(file.path);
      const current = this.files[part - 1]!.get(file.path);
      const applied = applyFile(current, file);
      if ('conflict' in applied) return { type: 'refused', reason: `conflict: ${applied.conflict}` };
      const clash = file.kind === 'create' ? this.directoryClash(file.path) : null;
      if (clash !== null) return { type: 'refused', reason: `conflict: ${file.path}: ${clash}` };
      const delta = (applied.content === null ? 0 : encoder.encode(applied.content).length) - (current === undefined ? 0 : encoder.encode(current).length);
      treeBytes += delta;
      partBytes.set(part, (partBytes.get(part) ?? this.encodedPartBytes(part)) + delta + entryOverhead(file.path, current, applied.content));
      updates.push([file, applied.content]);
    }
    if (treeBytes > LEDGER_TREE_BYTES_MAX) return { type: 'refused', reason: `the tree would exceed ${LEDGER_TREE_BYTES_MAX} bytes` };
    for (const [part, bytes] of partBytes) if (bytes > STATE_PART_BYTES_MAX) return { type: 'refused', reason: `file part ${part} would exceed ${STATE_PART_BYTES_MAX} bytes` };
    for (const [file, content] of updates) {
      const part = partOf(file.path);
      if (content === null) this.files[part - 1]!.delete(file.path);
      else this.files[part - 1]!.set(file.path, content);
      this.changed.add(part);
    }
    this.treeBytes = treeBytes;
    const patchDigest = sha256(encoder.encode(text));
    this.history.push({ patchDigest, message });
    this.headValue = nextHead(this.headValue, patchDigest, message);
    this.changed.add(0);
    return { type: 'applied', head: this.headValue, count: this.history.length };
  }

  /** Why a new file at `path` cannot sit in the tree beside the others (a file where a directory is, or the reverse), or null. */
  private directoryClash(path: string): string | null {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (this.files[partOf(dir) - 1]!.has(dir)) return `${dir} is a file`;
    }
    const below = `${path}/`;
    for (const files of this.files) for (const other of files.keys()) if (other.startsWith(below)) return 'is a directory';
    return null;
  }

  private encodedPartBytes(part: number): number {
    return this.part(part).length;
  }

  stateDigest(): Uint8Array {
    return domainDigest('byzpaxos/ledger-state/v1', ...Array.from({ length: this.partCount }, (_, i) => sha256(this.part(i))));
  }

  part(index: number): Uint8Array {
    if (index === 0) {
      const entries = this.history.map((e) => ({ digest: e.patchDigest, message: encoder.encode(e.message) }));
      const w = new Writer(32 + 4 + entries.reduce((sum, e) => sum + 32 + 2 + e.message.length, 0));
      w.raw(this.headValue);
      w.u32(entries.length);
      for (const e of entries) {
        w.raw(e.digest);
        w.field(e.message);
      }
      return w.done();
    }
    const entries = [...this.files[index - 1]!].sort((a, b) => compareStrings(a[0], b[0])).map(([p, c]) => [encoder.encode(p), encoder.encode(c)] as const);
    const w = new Writer(4 + entries.reduce((sum, [p, c]) => sum + 2 + p.length + 4 + c.length, 0));
    w.u32(entries.length);
    for (const [p, c] of entries) {
      w.field(p);
      w.u32(c.length);
      w.raw(c);
    }
    return w.done();
  }

  takeChangedParts(): number[] {
    return this.changed.take();
  }

  restore(parts: readonly Uint8Array[]): void {
    if (parts.length !== this.partCount) throw new Error(`ledger state: ${parts.length} parts, expected ${this.partCount}`);
    const { head, history } = decodeHistory(parts[0]!);
    const files = parts.slice(1).map((bytes, i) => decodeFiles(bytes, i + 1));
    const treeBytes = files.reduce((sum, m) => sum + [...m.values()].reduce((s, c) => s + encoder.encode(c).length, 0), 0);
    if (treeBytes > LEDGER_TREE_BYTES_MAX) throw new Error(`ledger state: ${treeBytes} bytes of files > ${LEDGER_TREE_BYTES_MAX}`);
    this.headValue = head;
    this.history = history;
    this.files = files;
    this.treeBytes = treeBytes;
    this.changed.clear();
  }
}

/** Bytes a file's entry adds to its part beyond its content: path and length fields (0 if absent before and after). */
function entryOverhead(path: string, before: string | undefined, after: string | null): number {
  const entry = 2 + encoder.encode(path).length + 4;
  return (after === null ? 0 : entry) - (before === undefined ? 0 : entry);
}

function decodeHistory(bytes: Uint8Array): { head: Uint8Array; history: HistoryEntry[] } {
  if (bytes.length > STATE_PART_BYTES_MAX) throw new Error(`ledger history: ${bytes.length} bytes > ${STATE_PART_BYTES_MAX}`);
  const r = new Reader(bytes, 'ledger history');
  const head = r.raw(32, 'head').slice();
  const count = r.u32('count');
  if (count > LEDGER_HISTORY_MAX) throw new Error(`ledger history: ${count} entries > ${LEDGER_HISTORY_MAX}`);
  const history: HistoryEntry[] = [];
  let chained = GENESIS_HEAD;
  for (let i = 0; i < count; i++) {
    const entry = { patchDigest: r.raw(32, 'digest').slice(), message: r.string('message', LEDGER_MESSAGE_BYTES_MAX) };
    chained = nextHead(chained, entry.patchDigest, entry.message);
    history.push(entry);
  }
  r.end();
  if (!bytesEqual(chained, head)) throw new Error('ledger history: the head does not chain its entries');
  return { head, history };
}

function decodeFiles(bytes: Uint8Array, part: number): Map<string, string> {
  const what = `ledger part ${part}`;
  if (bytes.length > STATE_PART_BYTES_MAX) throw new Error(`${what}: ${bytes.length} bytes > ${STATE_PART_BYTES_MAX}`);
  const r = new Reader(bytes, what);
  const files = new Map<string, string>();
  let previous: string | null = null;
  for (let n = r.u32('count'), i = 0; i < n; i++) {
    const path = r.string('path', PATCH_PATH_BYTES_MAX);
    const defect = pathDefect(path);
    if (defect !== null) throw new Error(`${what}: file ${i}: path ${defect}`);
    if (previous !== null && compareStrings(previous, path) >= 0) throw new Error(`${what}: file ${i} is not in ascending order`);
    if (partOf(path) !== part) throw new Error(`${what}: file ${i} belongs to part ${partOf(path)}`);
    const content = r.text(r.raw(r.u32('content length'), 'content'), 'content');
    if (content !== '' && !content.endsWith('\n')) throw new Error(`${what}: file ${i} does not end with a newline`);
    files.set(path, content);
    previous = path;
  }
  r.end();
  return files;
}
