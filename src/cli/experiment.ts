// `byzpaxos experiment <name> [--json]`: run one of the experiments and print its table or rows.
import { formatOverheadTable, runOverhead } from '../../experiments/overhead/overhead.ts';
import { parseOptions, UsageError } from './args.ts';

const EXPERIMENTS = ['overhead'];

export function runExperiment(argv: readonly string[]): number {
  const { values, positionals } = parseOptions('experiment', argv, { json: { type: 'boolean' } }, 1);
  const [name] = positionals;
  if (name === undefined) throw new UsageError(`experiment: missing experiment name (one of ${EXPERIMENTS.join(', ')})`);
  if (!EXPERIMENTS.includes(name)) throw new UsageError(`experiment: unknown experiment '${name}' (one of ${EXPERIMENTS.join(', ')})`);
  const { rows } = runOverhead();
  process.stdout.write(values.json ? `${JSON.stringify({ rows })}\n` : `${formatOverheadTable(rows).trimEnd()}\n`);
  return 0;
}
