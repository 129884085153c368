// Directories the CLI writes into (init --dir, start --data, sim --evidence-out): created with
// their missing parents, then checked to be a writable directory, so a bad path is refused with
// one line before anything runs. Parents are made one at a time: Node's recursive mkdir loops
// forever where mkdir answers ENOENT under a parent that exists (/proc), which hung `start`.
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Creates `dir` (and missing parents, each with `mode`) if needed; null if it is then a writable directory, else why not. */
export function writableDirProblem(dir: string, mode: number): string | null {
  const missing: string[] = [];
  for (let at = resolve(dir); !existsSync(at); at = dirname(at)) {
    missing.push(at);
    if (dirname(at) === at) break;
  }
  for (const path of missing.reverse()) {
    try {
      mkdirSync(path, { mode });
    } catch (e) {
      if (errno(e) !== 'EEXIST') return `cannot be created (${errno(e)})`;
    }
  }
  try {
    if (!statSync(dir).isDirectory()) return 'is not a directory';
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    return `is not writable (${errno(e)})`;
  }
  return null;
}

function errno(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}
