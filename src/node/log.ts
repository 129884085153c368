// Structured logs: one JSON object per line, `{"time","level","msg",...bindings,...fields}`.
// Levels, most severe first: error, warn, info, debug; a logger writes its level and above.
// The runtime's only logger; the core never logs (it emits effects, which the runtime logs).
import { toHex } from '../../crypto/digest.ts';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  readonly level: LogLevel;
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  /** Would a line at `level` be written? Lets callers skip building costly fields. */
  enabled(level: LogLevel): boolean;
  /** A logger that adds `bindings` to every line (e.g. `{ node: 'n0' }`). */
  child(bindings: LogFields): Logger;
}

export interface LoggerOptions {
  /** Default 'info'. */
  readonly level?: LogLevel;
  /** Where each line goes, without its newline; default: standard error. */
  readonly sink?: (line: string) => void;
  readonly bindings?: LogFields;
  /** Default: wall-clock time in ISO 8601. */
  readonly clock?: () => string;
  /** 'json' (default): one JSON object a line, for machines; 'text': `TIME LEVEL msg key=value …`, for terminals. */
  readonly format?: LogFormat;
}

export type LogFormat = 'json' | 'text';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'text'];

/** Longest string field written; longer ones are cut (a log line stays a line, not a dump). */
export const LOG_STRING_CHARS_MAX = 2048;
/** Bytes fields are written as hex, at most this many bytes. */
export const LOG_BYTES_SHOWN_MAX = 64;
/** Deepest nesting written; deeper values become "…". */
const LOG_DEPTH_MAX = 4;
/** Most entries written per array or object. */
const LOG_ENTRIES_MAX = 32;

/** Parses a `--log-level` value; throws a RangeError naming the accepted values. */
export function parseLogLevel(text: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === text);
  if (level === undefined) throw new RangeError(`log level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(text)}`);
  return level;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const sink = options.sink ?? ((line: string) => process.stderr.write(`${line}\n`));
  const clock = options.clock ?? (() => new Date().toISOString());
  const render = options.format === 'text' ? textLine : JSON.stringify;
  return new LineLogger(options.level ?? 'info', (line) => sink(render(line)), clock, options.bindings ?? {});
}

/** `time LEVEL msg key=value …`; a value with spaces, quotes or '=' (or not a string) in JSON. */
function textLine(line: Readonly<Record<string, unknown>>): string {
  const { time, level, msg, ...fields } = line;
  const parts = [String(time), String(level).toUpperCase().padEnd(5), String(msg)];
  for (const [key, value] of Object.entries(fields)) {
    const bare = typeof value === 'string' && value !== '' && !/[\s"=]/.test(value);
    parts.push(`${key}=${bare ? value : JSON.stringify(value)}`);
  }
  return parts.join(' ');
}

class LineLogger implements Logger {
  readonly level: LogLevel;
  private readonly rank: number;
  private readonly sink: (line: Record<string, unknown>) => void;
  private readonly clock: () => string;
  private readonly bindings: LogFields;

  constructor(level: LogLevel, sink: (line: Record<string, unknown>) => void, clock: () => string, bindings: LogFields) {
    this.level = level;
    this.rank = LOG_LEVELS.indexOf(level);
    this.sink = sink;
    this.clock = clock;
    this.bindings = bindings;
  }

  error(msg: string, fields?: LogFields): void {
    this.write('error', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.write('warn', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    this.write('info', msg, fields);
  }

  debug(msg: string, fields?: LogFields): void {
    this.write('debug', msg, fields);
  }

  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) <= this.rank;
  }

  child(bindings: LogFields): Logger {
    return new LineLogger(this.level, this.sink, this.clock, { ...this.bindings, ...bindings });
  }

  private write(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    if (!this.enabled(level)) return;
    const line: Record<string, unknown> = { time: this.clock(), level, msg: clip(msg) };
    for (const [key, value] of Object.entries(this.bindings)) line[key] = plain(value, 0);
    for (const [key, value] of Object.entries(fields ?? {})) line[key] = plain(value, 0);
    this.sink(line);
  }
}

/** Writes nothing: the default where a logger is optional. */
export const silentLogger: Logger = createLogger({ level: 'error', sink: () => {} });

/** A JSON-safe, bounded rendering of any value; never throws. */
function plain(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      return clip(value);
    case 'number':
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
      return null;
    case 'function':
    case 'symbol':
      return String(value);
  }
  if (value === null) return null;
  if (value instanceof Uint8Array) return hex(value);
  if (value instanceof Error) return { name: value.name, message: clip(value.message), stack: clip(value.stack ?? '') };
  if (depth >= LOG_DEPTH_MAX) return '…';
  if (Array.isArray(value)) return value.slice(0, LOG_ENTRIES_MAX).map((v) => plain(v, depth + 1));
  if (value instanceof Map) return plain(Object.fromEntries([...value.entries()].slice(0, LOG_ENTRIES_MAX)), depth);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as object).slice(0, LOG_ENTRIES_MAX)) out[key] = plain(v, depth + 1);
  return out;
}

function clip(text: string): string {
  return text.length <= LOG_STRING_CHARS_MAX ? text : `${text.slice(0, LOG_STRING_CHARS_MAX)}…`;
}

function hex(bytes: Uint8Array): string {
  const out = toHex(bytes.subarray(0, LOG_BYTES_SHOWN_MAX));
  return bytes.length > LOG_BYTES_SHOWN_MAX ? `${out}…(${bytes.length} bytes)` : out;
}
