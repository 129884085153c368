// The import graph of the tree, read from the sources: every static, type-only, re-export and
// dynamic import of a relative path. Type-only imports count: a reader follows them as much as a
// value import, and a circle of types is as hard to take apart.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

/** File (relative to the root) → the files it imports. */
export type Graph = ReadonlyMap<string, readonly string[]>;

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])(\.{1,2}\/[^'"]+)\1/gm;

/** The relative specifiers one source file imports, resolved against its own path. */
export function importsOf(file: string, text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(SPECIFIER)) out.add(normalize(join(dirname(file), m[2]!)));
  return [...out];
}

/** The Node built-ins (`node:…`) one source file imports. */
export function builtinsOf(text: string): string[] {
  return [...new Set([...text.matchAll(/\bfrom\s*(['"])(node:[^'"]+)\1/g)].map((m) => m[2]!))];
}

export function importGraph(root: string, folders: readonly string[]): Graph {
  const graph = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|mts)$/.test(entry.name)) graph.set(path, importsOf(path, readFileSync(join(root, path), 'utf8')));
    }
  };
  for (const folder of folders) walk(folder);
  return graph;
}

/** Every set of nodes that import each other, directly or round a circle (Tarjan's algorithm). */
export function cycles(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      onStack.delete(w);
      component.push(w);
      if (w === v) break;
    }
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

/** The same graph between folders: an edge wherever a file of one imports a file of another. */
export function folderGraph(graph: Graph): Graph {
  const folders = new Map<string, Set<string>>();
  for (const [file, imports] of graph) {
    const from = dirname(file);
    const edges = folders.get(from) ?? new Set<string>();
    folders.set(from, edges);
    for (const target of imports) if (dirname(target) !== from && graph.has(target)) edges.add(dirname(target));
  }
  return new Map([...folders].map(([folder, edges]) => [folder, [...edges]]));
}
