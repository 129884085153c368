// Floors that never point up (README "Layout"): no file imports itself round a circle, no folder
// imports a folder that imports it back, crypto knows nothing of Paxos, and the protocol floors do
// no I/O. Each rule is first shown failing on a small graph that breaks it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinsOf, cycles, folderGraph, importGraph, importsOf, type Graph } from './import-graph.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const TREE = importGraph(ROOT, ['src', 'crypto']);
/** Folders of the pure protocol: step → effects, no files, sockets, clocks or processes. */
const PURE = ['src/base', 'src/core', 'src/messages', 'src/modes', 'src/evidence', 'src/app', 'src/adversary', 'src/sim', 'src/trace'];

const graph = (edges: Record<string, string[]>): Graph => new Map(Object.entries(edges));

describe('the import reader', () => {
  it('sees value, type-only, multi-line, re-export and dynamic imports, resolved against the file', () => {
    const text = [
      "import { a } from './a.ts';",
      "import type { B } from '../b/b.ts';",
      'import {',
      '  c,',
      "} from './c.ts';",
      "export { d } from './d.ts';",
      "const e = await import('./e.ts');",
      "import './f.ts';",
      "import { readFileSync } from 'node:fs';",
      "import { x } from 'vitest';",
    ].join('\n');
    expect(importsOf('src/x/y.ts', text).sort()).toEqual(['src/b/b.ts', 'src/x/a.ts', 'src/x/c.ts', 'src/x/d.ts', 'src/x/e.ts', 'src/x/f.ts']);
    expect(builtinsOf(text)).toEqual(['node:fs']);
  });

  it('reads the real tree', () => {
    expect(TREE.get('src/core/acceptor.ts')).toContain('src/base/ballot.ts');
    expect(TREE.size).toBeGreaterThan(100);
  });
});

describe('no circles', () => {
  it('finds a circle of three files, a pair and a self-import, and nothing in a tree', () => {
    const bad = graph({ a: ['b'], b: ['c'], c: ['a'], d: ['e'], e: ['d'], s: ['s'], t: ['a'] });
    expect(cycles(bad)).toEqual([['a', 'b', 'c'], ['d', 'e'], ['s']]);
    expect(cycles(graph({ a: ['b', 'c'], b: ['c'], c: [] }))).toEqual([]);
  });

  it('between files of src/ and crypto/', () => {
    expect(cycles(TREE)).toEqual([]);
  });

  it('finds folders that import each other', () => {
    const bad = graph({ 'x/a.ts': ['y/b.ts'], 'y/b.ts': [], 'y/c.ts': ['x/d.ts'], 'x/d.ts': [] });
    expect(cycles(folderGraph(bad))).toEqual([['x', 'y']]);
  });

  it('between folders: every folder sits on a floor above those it imports', () => {
    expect(cycles(folderGraph(TREE))).toEqual([]);
  });
});

describe('crypto/ knows nothing of Paxos', () => {
  const outside = (g: Graph): string[] =>
    [...g].filter(([file]) => file.startsWith('crypto/')).flatMap(([file, imports]) => imports.filter((i) => !i.startsWith('crypto/')).map((i) => `${file} → ${i}`));

  it('is caught when broken', () => {
    expect(outside(graph({ 'crypto/a.ts': ['src/core/b.ts'], 'src/core/b.ts': ['crypto/a.ts'] }))).toEqual(['crypto/a.ts → src/core/b.ts']);
  });

  it('holds', () => {
    expect(outside(TREE)).toEqual([]);
  });
});

describe('the protocol floors do no I/O', () => {
  const impure = (files: readonly string[], read: (file: string) => string): string[] =>
    files.filter((f) => PURE.some((folder) => f.startsWith(`${folder}/`))).flatMap((f) => builtinsOf(read(f)).map((b) => `${f} → ${b}`));

  it('is caught when broken', () => {
    expect(impure(['src/core/a.ts', 'src/node/b.ts'], () => "import { open } from 'node:fs';")).toEqual(['src/core/a.ts → node:fs']);
  });

  it('holds: no Node built-in below the runtime', () => {
    expect(impure([...TREE.keys()], (f) => readFileSync(join(ROOT, f), 'utf8'))).toEqual([]);
  });
});
