// Option parsing shared by the subcommands: node:util parseArgs (strict), with its errors and
// our own validation turned into one-line UsageErrors, which main reports with exit code 2.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** The command line is wrong; `message` is one line naming the culprit. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Parses `argv` for `command`, allowing at most `maxPositionals` positional arguments. */
export function parseOptions<T extends ParseArgsOptionsConfig>(command: string, argv: readonly string[], options: T, maxPositionals = 0) {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError(describeParseError(command, options, e));
  }
  const extra = parsed.positionals[maxPositionals];
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}' for ${command}`);
  return parsed;
}

// parseArgs messages can span several lines and suggest syntax we do not document.
function describeParseError(command: string, options: ParseArgsOptionsConfig, e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const option = /'(-[^' ]+)/.exec(message)?.[1] ?? 'option';
  switch ((e as { code?: unknown }).code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const known = Object.keys(options).map((name) => `--${name}`);
      return `unknown option '${option}' for ${command}${known.length > 0 ? ` (expected ${known.join(', ')})` : ''}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/argument missing|ambiguous/.test(message)) {
        return `option '${option}' needs a value (write ${option}=VALUE for a value starting with '-')`;
      }
      return `option '${option}' takes no value`;
    default:
      return oneLine(message);
  }
}

/** An integer option in [min, max]; `fallback` when absent. Only plain decimal digits count. */
export function integerOption(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be an integer in ${min}..${max}, got '${raw}'`);
  }
  return value;
}

export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** The environment variable that gives option `name` its default: BYZPAXOS_ and the name in capitals (--timeout-ms: BYZPAXOS_TIMEOUT_MS). */
export function envName(name: string): string {
  return `BYZPAXOS_${name.toUpperCase().replaceAll('-', '_')}`;
}

/** `values` with each of `names` not given on the command line taken from its environment variable, if set and not empty. */
export function withEnvDefaults<T extends Record<string, unknown>>(values: T, names: readonly (keyof T & string)[], env: NodeJS.ProcessEnv = process.env): T {
  const filled: Record<string, unknown> = { ...values };
  for (const name of names) {
    const fromEnv = env[envName(name)];
    if (filled[name] === undefined && fromEnv !== undefined && fromEnv !== '') filled[name] = fromEnv;
  }
  return filled as T;
}
