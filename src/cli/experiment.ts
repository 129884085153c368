// `byzpaxos experiment <name> [--json]`: run one of the experiments and print its table or rows.
import { formatOverheadTable, runOverhead } from '../../experiments/overhead/overhead.ts';
import { parseOptions, UsageError } from './args.ts';

/** Each experiment renders its result as JSON or as a table. */
const EXPERIMENTS: Record<string, (json: boolean) => string> = {
  overhead: (json) => {
    const { rows } = runOverhead();
    return json ? JSON.stringify({ rows }) : formatOverheadTable(rows).trimEnd();
  },
};

export function runExperiment(argv: readonly string[]): number {
  const { values, positionals } = parseOptions('experiment', argv, { json: { type: 'boolean' } }, 1);
  const [name] = positionals;
  const known = Object.keys(EXPERIMENTS).join(', ');
  if (name === undefined) throw new UsageError(`missing experiment name (one of ${known})`);
  const run = Object.hasOwn(EXPERIMENTS, name) ? EXPERIMENTS[name] : undefined;
  if (run === undefined) throw new UsageError(`unknown experiment '${name}' (one of ${known})`);
  process.stdout.write(`${run(values.json ?? false)}\n`);
  return 0;
}
