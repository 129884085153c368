// libp2p's own logging, routed through ours: libp2p takes a ComponentLogger, so handing it this
// one replaces its `debug`-module default (which DEBUG=libp2p:* would turn on, in a second text
// format on the same stream). Its lines reach our log as debug events naming the component, and
// only when `enabled` (our logger at debug): otherwise libp2p skips formatting altogether.
import { format } from 'node:util';
import type { ComponentLogger, Logger } from '@libp2p/interface';
import type { TransportLog } from './transport.ts';

/** libp2p's printf extensions (peer id, multiaddr, CID, bytes, datetime, error): printed as strings. */
const LIBP2P_FORMATTERS = /%[pacbte]/g;

function message(formatter: unknown, args: readonly unknown[]): string {
  return typeof formatter === 'string' ? format(formatter.replace(LIBP2P_FORMATTERS, '%s'), ...args.map(String)) : format(formatter, ...args);
}

function componentLogger(log: TransportLog, enabled: boolean, component: string): Logger {
  const write = (severity: 'log' | 'error') => (formatter: unknown, ...args: unknown[]): void => {
    if (enabled) log('debug', 'libp2p', { scope: component, severity, message: message(formatter, args) });
  };
  return Object.assign(write('log'), {
    error: write('error'),
    // Per-frame detail: never routed.
    trace: (): void => {},
    enabled,
    newScope: (name: string) => componentLogger(log, enabled, `${component}:${name}`),
  });
}

export function libp2pLogger(log: TransportLog, enabled: boolean): ComponentLogger {
  return { forComponent: (name: string) => componentLogger(log, enabled, name) };
}
