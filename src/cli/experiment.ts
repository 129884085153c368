// `byzpaxos experiment <name> [--seeds N] [--json]`: run one of the experiments and print its table or rows.
import { formatDetectionTable, runDetection } from '../../experiments/detection/detection.ts';
import { formatOverheadTable, runOverhead } from '../../experiments/overhead/overhead.ts';
import { integerOption, parseOptions, UsageError } from './args.ts';

interface ExperimentArgs {
  readonly json: boolean;
  /** The raw --seeds value: only experiments that sweep seeds accept it. */
  readonly seeds: string | undefined;
}

/** Each experiment renders its result as JSON or as a table. */
const EXPERIMENTS: Record<string, (args: ExperimentArgs) => string> = {
  overhead: ({ json, seeds }) => {
    // One deterministic steady-state run per row: there is nothing to sweep.
    if (seeds !== undefined) throw new UsageError('--seeds applies to the detection experiment, not overhead');
    const { rows } = runOverhead();
    return json ? JSON.stringify({ rows }) : formatOverheadTable(rows).trimEnd();
  },
  detection: ({ json, seeds }) => {
    const { rows } = runDetection({ seeds: integerOption('seeds', seeds, 50, 1, 100_000) });
    return json ? JSON.stringify({ rows }) : formatDetectionTable(rows);
  },
};

export function runExperiment(argv: readonly string[]): number {
  const { values, positionals } = parseOptions('experiment', argv, { json: { type: 'boolean' }, seeds: { type: 'string' } }, 1);
  const [name] = positionals;
  const known = Object.keys(EXPERIMENTS).join(', ');
  if (name === undefined) throw new UsageError(`missing experiment name (one of ${known})`);
  const run = Object.hasOwn(EXPERIMENTS, name) ? EXPERIMENTS[name] : undefined;
  if (run === undefined) throw new UsageError(`unknown experiment '${name}' (one of ${known})`);
  process.stdout.write(`${run({ json: values.json ?? false, seeds: values.seeds })}\n`);
  return 0;
}
