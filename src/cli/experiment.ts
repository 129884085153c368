// `byzpaxos experiment NAME [--seeds N] [--out DIR] [--json]`: run one experiment of the registry,
// write its results folder, print its table (or, with --json, its rows as one JSON object).
import { EXPERIMENTS, experimentNamed } from '../experiments/registry.ts';
import type { Progress } from '../experiments/experiment.ts';
import { defaultResultsDir, writeResults } from '../experiments/results.ts';
import { markdownTable } from '../experiments/table.ts';
import { integerOption, parseOptions, UsageError } from './args.ts';

const SEEDS_MAX = 100_000;
/** 128 + SIGINT, as the bench exits when interrupted. */
const INTERRUPTED_EXIT = 130;

export async function runExperiment(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseOptions('experiment', argv, { json: { type: 'boolean' }, seeds: { type: 'string' }, out: { type: 'string' } }, 1);
  const [name] = positionals;
  const known = EXPERIMENTS.map((e) => e.name).join(', ');
  if (name === undefined) throw new UsageError(`missing experiment name (one of ${known})`);
  const experiment = experimentNamed(name);
  if (experiment === undefined) throw new UsageError(`unknown experiment '${name}' (one of ${known})`);
  if (experiment.seedsDefault === null && values.seeds !== undefined) throw new UsageError(`--seeds does not apply to the ${name} experiment`);
  const seeds = experiment.seedsDefault === null ? undefined : integerOption('seeds', values.seeds, experiment.seedsDefault, 1, SEEDS_MAX);
  const json = values.json ?? false;
  const now = new Date();
  const dir = values.out ?? defaultResultsDir(name, now);
  // A deployed experiment stops its clusters on Ctrl-C and keeps the rows it has; a simulated
  // one runs synchronously, so it keeps the default (Ctrl-C ends it at once).
  const interrupt = new AbortController();
  const stop = () => interrupt.abort();
  if (!experiment.simulated) process.once('SIGINT', stop);
  try {
    const result = await experiment.run({ seeds, progress: progressLine(!json && process.stderr.isTTY === true), signal: interrupt.signal });
    const command = ['byzpaxos', 'experiment', ...argv].join(' ');
    writeResults(dir, experiment, result, command, now);
    process.stdout.write(json ? `${JSON.stringify({ rows: result.rows })}\n` : `${markdownTable(result.columns, result.rows)}\n\nresults in ${dir}/\n`);
  } finally {
    process.off('SIGINT', stop);
  }
  return interrupt.signal.aborted ? INTERRUPTED_EXIT : 0;
}

/** One line on stderr, rewritten in place after each unit of work; nothing off a terminal. */
function progressLine(enabled: boolean): Progress {
  if (!enabled) return () => {};
  const started = performance.now();
  return (done, total, label) => {
    const seconds = ((performance.now() - started) / 1000).toFixed(0);
    process.stderr.write(`\r\x1b[2K${done}/${total} ${label} (${seconds} s)${done === total ? '\n' : ''}`);
  };
}
