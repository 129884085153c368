// The Byzantine options of `byzpaxos sim`: which strategies run (built-in names, then researchers'
// modules) and on which nodes. Every mistake is a one-line UsageError.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Adversary } from '../adversary/adversary.ts';
import { adversaryNamed, APP_ADVERSARIES, BUILT_IN_ADVERSARIES } from '../adversary/strategies.ts';
import type { NodeId } from '../base/types.ts';
import { UsageError } from './args.ts';

export interface ByzantineArgs {
  /** Built-in strategies first, then one per module, in command-line order. */
  readonly strategies: readonly Adversary[];
  /** Dealt the strategies round-robin; undefined when each seed picks one node per strategy. */
  readonly nodes: readonly NodeId[] | undefined;
  /** The module options, for replay commands: the simulator replays only built-ins by name. */
  readonly replayArgs: string;
}

export interface ByzantineOptionValues {
  readonly adversary?: string;
  readonly 'adversary-module'?: string[];
  readonly byzantine?: string;
  readonly 'beyond-bound'?: boolean;
  readonly 'evidence-out'?: string;
}

/** Refuses Byzantine options outside the Byzantine modes, rather than ignoring them. */
export function rejectByzantineOptions(values: ByzantineOptionValues, mode: string): void {
  for (const name of ['adversary', 'adversary-module', 'byzantine', 'beyond-bound', 'evidence-out'] as const) {
    if (values[name] !== undefined) throw new UsageError(`--${name} needs --mode byzantine or commit-reveal (got --mode ${mode})`);
  }
}

export async function parseByzantineOptions(values: ByzantineOptionValues, f: number, n: number): Promise<ByzantineArgs> {
  const named = values.adversary === undefined ? [] : values.adversary.split(',').map(builtIn);
  const paths = values['adversary-module'] ?? [];
  const nodes = values.byzantine === undefined ? undefined : nodeIds(values.byzantine, n);
  const strategies = named.length + paths.length;
  if (nodes !== undefined && strategies === 0) {
    throw new UsageError(`--byzantine ${values.byzantine} needs a strategy for its nodes (--adversary or --adversary-module)`);
  }
  // Round-robin dealing would silently leave a strategy without a node.
  if (nodes !== undefined && nodes.length < strategies) {
    throw new UsageError(`--byzantine lists ${nodes.length} node(s) for ${strategies} strategies; give every strategy a node`);
  }
  const count = nodes?.length ?? strategies;
  if (count > n) throw new UsageError(`${count} Byzantine nodes, but the cluster has only n=${n}`);
  if (count > f && values['beyond-bound'] !== true) {
    throw new UsageError(`${count} Byzantine nodes exceed f=${f}; add --beyond-bound to see what breaks`);
  }
  const loaded: Adversary[] = [];
  for (const path of paths) loaded.push(await loadAdversaryModule(path));
  return {
    strategies: [...named, ...loaded],
    nodes,
    replayArgs: paths.map((path) => `--adversary-module ${shellQuote(path)}`).join(' '),
  };
}

export function builtIn(name: string): Adversary {
  const adversary = adversaryNamed(name);
  if (adversary === undefined) {
    const known = [...BUILT_IN_ADVERSARIES, ...APP_ADVERSARIES].map((a) => a.name).join(', ');
    throw new UsageError(`--adversary: unknown strategy '${name}' (one of ${known}; or load your own with --adversary-module PATH)`);
  }
  return adversary;
}

function nodeIds(list: string, n: number): NodeId[] {
  const ids = list.split(',').map((raw) => {
    const id = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!(id < n)) throw new UsageError(`--byzantine: node ids must be integers in 0..${n - 1}, got '${raw}'`);
    return id;
  });
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice !== undefined) throw new UsageError(`--byzantine: node ${twice} is listed twice`);
  return ids;
}

/** Imports a researcher's strategy: the module's default export must be an Adversary. */
async function loadAdversaryModule(path: string): Promise<Adversary> {
  const file = resolve(path);
  if (!existsSync(file)) throw new UsageError(`--adversary-module: no such file '${path}'`);
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new UsageError(`--adversary-module ${path}: import failed: ${message.split('\n')[0]}`);
  }
  const candidate = exports.default;
  const problem = shapeProblem(candidate);
  if (problem !== null) {
    throw new UsageError(`--adversary-module ${path}: ${problem}; export default { name, description, create(ctx) } (an Adversary)`);
  }
  const adversary = candidate as Adversary;
  // A fresh object: the simulator replays by name only what is identical to a built-in.
  return {
    name: adversary.name,
    description: typeof adversary.description === 'string' ? adversary.description : '',
    create: (ctx) => adversary.create(ctx),
  };
}

function shapeProblem(candidate: unknown): string | null {
  if (candidate === undefined) return 'it has no default export';
  if (typeof candidate !== 'object' || candidate === null) return `its default export is ${candidate === null ? 'null' : `a ${typeof candidate}`}`;
  const { name, create } = candidate as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') return 'its default export has no name (a non-empty string)';
  if (typeof create !== 'function') return `its default export '${name}' has no create(ctx) function`;
  return null;
}

/** A word the shell passes through unchanged. */
function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
