import { describe, expect, it } from 'vitest';
import { LOG_BYTES_SHOWN_MAX, createLogger, parseLogLevel } from '../../src/node/log.ts';

function capture(level: 'error' | 'warn' | 'info' | 'debug') {
  const lines: string[] = [];
  const logger = createLogger({ level, sink: (line) => lines.push(line), clock: () => 'T' });
  return { lines, logger };
}

describe('JSON-lines logger', () => {
  it('writes one JSON object per line with time, level, msg, bindings and fields', () => {
    const { lines, logger } = capture('info');
    logger.child({ node: 'n0' }).info('view change', { round: 3, leader: 'n1' });
    expect(lines).toEqual(['{"time":"T","level":"info","msg":"view change","node":"n0","round":3,"leader":"n1"}']);
  });

  it('in text format: time, level, msg, then key=value, quoting values with spaces and non-strings as JSON', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', format: 'text', sink: (line) => lines.push(line), clock: () => 'T' });
    logger.child({ node: 'n0' }).info('view change', { round: 3, leader: 'n1', why: 'two words' });
    expect(lines).toEqual(['T INFO  view change node=n0 round=3 leader=n1 why="two words"']);
  });

  it('writes its level and the more severe ones only', () => {
    const { lines, logger } = capture('warn');
    logger.error('e');
    logger.warn('w');
    logger.info('i');
    logger.debug('d');
    expect(lines.map((l) => JSON.parse(l).level)).toEqual(['error', 'warn']);
    expect(logger.enabled('debug')).toBe(false);
    expect(logger.enabled('error')).toBe(true);
  });

  it('renders errors, bytes, bigints and cycles-free nesting without throwing', () => {
    const { lines, logger } = capture('debug');
    const deep = { a: { b: { c: { d: { e: 1 } } } } };
    logger.debug('x', { error: new RangeError('bad'), bytes: new Uint8Array(LOG_BYTES_SHOWN_MAX + 1), big: 10n, deep, none: undefined });
    const line = JSON.parse(lines[0]!);
    expect(line.error).toMatchObject({ name: 'RangeError', message: 'bad' });
    expect(line.bytes).toMatch(new RegExp(`^(00){${LOG_BYTES_SHOWN_MAX}}…\\(${LOG_BYTES_SHOWN_MAX + 1} bytes\\)$`));
    expect(line.big).toBe('10');
    expect(line.deep.a.b.c).toEqual({ d: '…' });
    expect(line.none).toBeNull();
  });

  it('parses a level flag and names the accepted values otherwise', () => {
    expect(parseLogLevel('debug')).toBe('debug');
    expect(() => parseLogLevel('verbose')).toThrow('log level must be one of error, warn, info, debug, got "verbose"');
  });
});
