import { describe, expect, it } from 'vitest';
import { libp2pLogger } from '../../src/transport/libp2p-logger.ts';

describe("libp2p's logger routed through ours", () => {
  it('turns its lines, printf extensions included, into debug events naming the scope', () => {
    const events: unknown[] = [];
    const log = libp2pLogger((level, event, fields) => events.push({ level, event, ...fields }), true).forComponent('libp2p:dialer');
    log('dialing %p on %a', 'peerA', '/ip4/127.0.0.1/tcp/1');
    log.newScope('queue').error('failed %s', 'x');
    log.trace('per frame');
    expect(events).toEqual([
      { level: 'debug', event: 'libp2p', scope: 'libp2p:dialer', severity: 'log', message: 'dialing peerA on /ip4/127.0.0.1/tcp/1' },
      { level: 'debug', event: 'libp2p', scope: 'libp2p:dialer:queue', severity: 'error', message: 'failed x' },
    ]);
    expect(log.enabled).toBe(true);
  });

  it('disabled, it writes nothing and says so, so libp2p skips formatting', () => {
    const events: unknown[] = [];
    const log = libp2pLogger(() => events.push(1), false).forComponent('libp2p');
    log('hello');
    log.error('bad');
    expect(events).toEqual([]);
    expect(log.enabled).toBe(false);
  });
});
