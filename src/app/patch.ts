// The patch format of the patch ledger (patch-ledger.ts): the unified diff `git diff` and `diff -u`
// write, for text files, strictly. A patch is one or more file sections:
//
//   --- a/PATH        (--- /dev/null: PATH is created)
//   +++ b/PATH        (+++ /dev/null: PATH is deleted)
//   @@ -L,N +M,K @@   then N old-side lines (' ' context or '-' removed) and K new-side lines (' ' or '+')
//
// Lines before a section (`diff --git`, `index`, `new file mode`, `deleted file mode`) are skipped.
// Strict where `patch` is lenient, so every replica reads a patch one way: a hunk applies only at
// the line it names (no offset, no fuzz); every file ends with a newline ("\ No newline at end of
// file" is refused); no renames or mode changes; a path is relative, without '.', '..' or '\'.
// Parsing judges the patch alone (what an acceptor may Verify); whether it applies is a question
// for the tree (applyFile), which only execution may ask.

/** Longest path, in UTF-8 bytes. */
export const PATCH_PATH_BYTES_MAX = 255;
/** Most file sections in one patch. */
export const PATCH_FILES_MAX = 64;

export interface Hunk {
  /** 0-based index of the first old line (for an empty old side: of the line it inserts before). */
  readonly at: number;
  readonly oldLines: readonly string[];
  readonly newLines: readonly string[];
  /** The '+' lines: new to the tree, what a content rule reads. */
  readonly added: readonly string[];
}

export interface FilePatch {
  readonly path: string;
  readonly kind: 'create' | 'modify' | 'delete';
  readonly hunks: readonly Hunk[];
}

export interface Patch {
  readonly files: readonly FilePatch[];
}

/** A patch that cannot be read, with the line (1-based) that says why. */
export class PatchError extends Error {}

const SKIPPED = ['diff ', 'index ', 'new file mode ', 'deleted file mode '];
const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;
const encoder = new TextEncoder();

/** Parses a patch; throws a PatchError naming the first defect. */
export function parsePatch(text: string): Patch {
  if (!text.endsWith('\n')) throw new PatchError('patch: does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  const files: FilePatch[] = [];
  const paths = new Set<string>();
  let i = 0;
  const fail = (why: string): never => {
    throw new PatchError(`patch line ${i + 1}: ${why}`);
  };
  while (i < lines.length) {
    const line = lines[i]!;
    if (SKIPPED.some((p) => line.startsWith(p))) {
      i++;
      continue;
    }
    if (!line.startsWith('--- ')) fail(`expected '--- PATH', got '${clip(line)}'`);
    const from = headerPath(line.slice(4), 'a/');
    i++;
    if (i >= lines.length || !lines[i]!.startsWith('+++ ')) fail("expected '+++ PATH'");
    const to = headerPath(lines[i]!.slice(4), 'b/');
    if (from === null && to === null) fail('both sides are /dev/null');
    if (from !== null && to !== null && from !== to) fail(`renames are not supported ('${clip(from)}' → '${clip(to)}')`);
    const path = (from ?? to)!;
    const bad = pathDefect(path);
    if (bad !== null) fail(`path '${clip(path)}' ${bad}`);
    if (paths.has(path)) fail(`'${clip(path)}' patched twice`);
    paths.add(path);
    i++;
    const hunks: Hunk[] = [];
    // Where the next hunk may start (old side), and how far the new side has drifted from the old.
    let next = 0;
    let drift = 0;
    while (i < lines.length && lines[i]!.startsWith('@@')) {
      const m = HUNK_HEADER.exec(lines[i]!);
      if (m === null) fail(`bad hunk header '${clip(lines[i]!)}'`);
      const [oldStart, oldCount, newStart, newCount] = [m![1]!, m![2] ?? '1', m![3]!, m![4] ?? '1'].map(Number) as [number, number, number, number];
      const at = oldCount === 0 ? oldStart : oldStart - 1;
      if (at < 0) fail('hunk starts at line 0');
      if (at < next) fail('hunks overlap or are out of order');
      if (newStart !== at + drift + (newCount === 0 ? 0 : 1)) fail(`hunk's new start ${newStart} does not follow from its old start ${oldStart}`);
      i++;
      const oldLines: string[] = [];
      const newLines: string[] = [];
      const added: string[] = [];
      while (oldLines.length < oldCount || newLines.length < newCount) {
        if (i >= lines.length) fail('hunk ends early');
        const body = lines[i]!;
        const rest = body.slice(1);
        if (body.startsWith(' ')) {
          oldLines.push(rest);
          newLines.push(rest);
        } else if (body.startsWith('-')) oldLines.push(rest);
        else if (body.startsWith('+')) {
          newLines.push(rest);
          added.push(rest);
        }
        else if (body.startsWith('\\')) fail('files must end with a newline ("\\ No newline at end of file")');
        else fail(`unexpected line in hunk '${clip(body)}'`);
        if (oldLines.length > oldCount || newLines.length > newCount) fail('hunk is longer than its header says');
        i++;
      }
      if (i < lines.length && lines[i]!.startsWith('\\')) fail('files must end with a newline ("\\ No newline at end of file")');
      hunks.push({ at, oldLines, newLines, added });
      next = at + oldCount;
      drift += newCount - oldCount;
    }
    if (hunks.length === 0) fail(`no hunk for '${clip(path)}'`);
    const kind = from === null ? 'create' : to === null ? 'delete' : 'modify';
    if (kind === 'create' && (hunks.length !== 1 || hunks[0]!.oldLines.length !== 0)) fail('a created file has one hunk and no old lines');
    if (kind === 'delete' && hunks.some((h) => h.newLines.length !== 0)) fail('a deleted file has no new lines');
    files.push({ path, kind, hunks });
    if (files.length > PATCH_FILES_MAX) fail(`more than ${PATCH_FILES_MAX} files`);
  }
  if (files.length === 0) throw new PatchError('patch: no file sections');
  return { files };
}

/**
 * `content` (undefined: no such file) with `file` applied: the new content (null: deleted), or
 * why it does not apply. Deterministic: each hunk must match the tree at exactly the line it names.
 */
export function applyFile(content: string | undefined, file: FilePatch): { readonly content: string | null } | { readonly conflict: string } {
  if (file.kind === 'create') {
    if (content !== undefined) return { conflict: `${file.path}: already exists` };
    return { content: joinLines(file.hunks[0]!.newLines) };
  }
  if (content === undefined) return { conflict: `${file.path}: no such file` };
  const lines = content === '' ? [] : content.slice(0, -1).split('\n');
  const out: string[] = [];
  let copied = 0;
  for (const [h, hunk] of file.hunks.entries()) {
    const matches = hunk.at + hunk.oldLines.length <= lines.length && hunk.oldLines.every((line, k) => lines[hunk.at + k] === line);
    if (!matches) return { conflict: `${file.path}: hunk ${h + 1} does not apply at line ${hunk.at + 1}` };
    for (; copied < hunk.at; copied++) out.push(lines[copied]!);
    out.push(...hunk.newLines);
    copied = hunk.at + hunk.oldLines.length;
  }
  for (; copied < lines.length; copied++) out.push(lines[copied]!);
  if (file.kind === 'delete') return out.length === 0 ? { content: null } : { conflict: `${file.path}: deleting it leaves ${out.length} lines` };
  return { content: joinLines(out) };
}

function joinLines(lines: readonly string[]): string {
  return lines.map((l) => `${l}\n`).join('');
}

/** The path of a '---'/'+++' header, its git prefix and any tab-separated timestamp cut; null for /dev/null. */
function headerPath(raw: string, prefix: string): string | null {
  const name = raw.split('\t')[0]!;
  if (name === '/dev/null') return null;
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

/** Why `path` may not name a file in the tree, or null. */
export function pathDefect(path: string): string | null {
  const bytes = encoder.encode(path).length;
  if (bytes === 0 || bytes > PATCH_PATH_BYTES_MAX) return `must be 1..${PATCH_PATH_BYTES_MAX} bytes`;
  if (/[\u0000-\u001f\u007f\\]/.test(path)) return 'holds a control character or a backslash';
  if (path.split('/').some((part) => part === '' || part === '.' || part === '..')) return "must be relative, without empty, '.' or '..' parts";
  return null;
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
