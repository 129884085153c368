// Fault mixes for the simulator, and the `--faults` syntax: drop=0.1,dup=0.05,reorder,partition,crash,churn

export interface FaultSpec {
  /** Probability a message is lost. */
  readonly drop: number;
  /** Probability a message is delivered twice. */
  readonly dup: number;
  /** Extra random delay per message, so messages overtake each other. */
  readonly reorder: boolean;
  /** Random network partitions that later heal. */
  readonly partition: boolean;
  /** Node crashes and restarts from what they persisted. */
  readonly crash: boolean;
  /** Crash mode: members added, removed and replaced through the log (churn.ts). */
  readonly churn: boolean;
}

export const NO_FAULTS: FaultSpec = Object.freeze({ drop: 0, dup: 0, reorder: false, partition: false, crash: false, churn: false });

/** Parses the `--faults` value; throws an Error with a one-line message naming the bad part. */
export function parseFaults(text: string): FaultSpec {
  const spec = { ...NO_FAULTS } as { -readonly [K in keyof FaultSpec]: FaultSpec[K] };
  if (text.trim() === '' || text === 'none') return spec;
  for (const part of text.split(',')) {
    const [name, value, ...rest] = part.split('=');
    if (rest.length > 0) throw new Error(`--faults: malformed item '${part}'`);
    switch (name) {
      case 'drop':
      case 'dup':
        spec[name] = parseProbability(name, value);
        break;
      case 'reorder':
      case 'partition':
      case 'crash':
      case 'churn':
        if (value !== undefined) throw new Error(`--faults: '${name}' takes no value`);
        spec[name] = true;
        break;
      default:
        throw new Error(`--faults: unknown fault '${name}' (expected drop=P, dup=P, reorder, partition, crash, churn)`);
    }
  }
  return spec;
}

function parseProbability(name: string, value: string | undefined): number {
  const p = value === undefined ? NaN : Number(value);
  if (value === undefined || value.trim() === '' || !Number.isFinite(p) || p < 0 || p > 0.9) {
    throw new Error(`--faults: ${name} needs a probability in [0, 0.9], got '${value ?? ''}'`);
  }
  return p;
}

export function formatFaults(spec: FaultSpec): string {
  const parts: string[] = [];
  if (spec.drop > 0) parts.push(`drop=${spec.drop}`);
  if (spec.dup > 0) parts.push(`dup=${spec.dup}`);
  if (spec.reorder) parts.push('reorder');
  if (spec.partition) parts.push('partition');
  if (spec.crash) parts.push('crash');
  if (spec.churn) parts.push('churn');
  return parts.length === 0 ? 'none' : parts.join(',');
}
