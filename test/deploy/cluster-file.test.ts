// cluster.json: what a good file gives, and one exact one-line message per class of mistake.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toHex } from '../../crypto/digest.ts';
import { clusterIdOf } from '../../src/modes/byzantine/cluster.ts';
import {
  ConfigError,
  formatClusterFile,
  loadClusterFile,
  parseClusterFile,
  toClusterConfig,
  type DeploymentConfig,
} from '../../src/deploy/cluster-file.ts';
import { clientKey, clusterObject, clusterText, memberKey, OFF_CURVE_KEY, SMALL_ORDER_KEY } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'byzpaxos-cluster-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rejects(text: string, message: string): void {
  let error: unknown;
  try {
    parseClusterFile(text, 'cluster.json');
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as Error).message).toBe(message);
  expect((error as Error).message).not.toMatch(/\n/);
}

describe('a good cluster.json', () => {
  it('gives mode, f, n, members with key bytes and addresses, and clients', () => {
    const d = parseClusterFile(clusterText(), 'cluster.json');
    expect(d.mode).toBe('byzantine');
    expect(d.f).toBe(1);
    expect(d.n).toBe(4);
    expect(d.members.map((m) => m.id)).toEqual([0, 1, 2, 3]);
    expect(d.members[2].publicKey).toEqual(memberKey(2).publicKey);
    expect(d.members[3].addrs).toEqual(['/ip4/127.0.0.1/tcp/7003']);
    expect(d.clients).toEqual([{ id: 1, publicKey: clientKey(1).publicKey }]);
  });

  it('names its application only when it is not the key-value store, and reads it back', () => {
    const d = parseClusterFile(clusterText(), 'cluster.json');
    expect(d.app).toBeUndefined();
    expect(formatClusterFile({ ...d, app: 'kv' })).toBe(formatClusterFile(d));
    const ledger = formatClusterFile({ ...d, app: 'patch-ledger' });
    expect(ledger).toContain('"app": "patch-ledger"');
    expect(parseClusterFile(ledger, 'cluster.json').app).toBe('patch-ledger');
    rejects(
      clusterText((c) => (c.app = 'git')),
      'cluster.json: app: expected one of "kv", "patch-ledger", got "git"',
    );
  });

  it('n is 2f+1 in crash mode and 3f+1 in the Byzantine modes', () => {
    expect(parseClusterFile(clusterText(undefined, 'crash', 2), 'c').n).toBe(5);
    expect(parseClusterFile(clusterText(undefined, 'crash', 0), 'c').n).toBe(1);
    expect(parseClusterFile(clusterText(undefined, 'commit-reveal', 2), 'c').n).toBe(7);
  });

  it('accepts several addresses, IPv6 and DNS names, and stores them canonically', () => {
    const d = parseClusterFile(
      clusterText((c) => {
        c.members[0].addrs = ['/ip4/10.0.0.5/tcp/7000/', '/ip6/0:0::1/tcp/7000', '/dns/node0.example/tcp/7000'];
      }),
      'c',
    );
    expect(d.members[0].addrs).toEqual(['/ip4/10.0.0.5/tcp/7000', '/ip6/::1/tcp/7000', '/dns/node0.example/tcp/7000']);
  });

  it('accepts upper-case hex and no clients', () => {
    const d = parseClusterFile(
      clusterText((c) => {
        c.members[0].publicKey = c.members[0].publicKey.toUpperCase();
        c.clients = [];
      }),
      'c',
    );
    expect(d.members[0].publicKey).toEqual(memberKey(0).publicKey);
    expect(d.clients).toEqual([]);
  });

  it('toClusterConfig gives the protocol view; the same keys give the same cluster id', () => {
    const d = parseClusterFile(clusterText(), 'c');
    const config = toClusterConfig(d);
    expect(config.f).toBe(1);
    expect(config.members).toEqual(d.members.map((m) => ({ id: m.id, publicKey: m.publicKey })));
    expect(config.clients).toEqual(d.clients);
    // Addresses are not part of the cluster id: moving a node to another machine keeps it.
    const moved = toClusterConfig(parseClusterFile(clusterText((c) => (c.members[1].addrs = ['/ip4/10.0.0.9/tcp/9000'])), 'c'));
    expect(toHex(clusterIdOf(moved))).toBe(toHex(clusterIdOf(config)));
  });

  it('toClusterConfig in crash mode gives 2f+1 members (validateCluster is for the Byzantine modes)', () => {
    const config = toClusterConfig(parseClusterFile(clusterText(undefined, 'crash', 1), 'c'));
    expect(config.members).toHaveLength(3);
  });

  it('toClusterConfig runs validateCluster in the Byzantine modes, naming the source', () => {
    const d = parseClusterFile(clusterText(), 'c');
    const broken: DeploymentConfig = { ...d, members: d.members.slice(0, 3) };
    expect(() => toClusterConfig(broken, 'x/cluster.json')).toThrow('x/cluster.json: cluster: f=1 needs n=4 members, got 3');
  });

  it('formatClusterFile round-trips and puts one member per line', () => {
    const d = parseClusterFile(clusterText(), 'c');
    const text = formatClusterFile(d);
    expect(parseClusterFile(text, 'c')).toEqual(d);
    expect(text.split('\n').filter((line) => line.includes('"addrs"'))).toHaveLength(4);
    expect(text.endsWith('}\n')).toBe(true);
  });

  it('loadClusterFile reads the file and names it in errors', () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, clusterText());
    expect(loadClusterFile(good).n).toBe(4);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, clusterText((c) => (c.f = 2)));
    expect(() => loadClusterFile(bad)).toThrow(`${bad}: f=2 needs 7 members in byzantine mode, got 4`);
    expect(() => loadClusterFile(join(dir, 'missing.json'))).toThrow(`${join(dir, 'missing.json')}: cannot read (ENOENT)`);
  });
});

describe('a bad cluster.json is refused with one line naming the field', () => {
  it('not JSON', () => {
    expect(() => parseClusterFile('{"version": 1,', 'cluster.json')).toThrow(/^cluster\.json: not JSON \(.+\)$/);
  });

  it('not an object', () => rejects('[]', 'cluster.json: expected an object'));

  it('wrong version', () => rejects(clusterText((c) => (c.version = 2)), 'cluster.json: version: expected 1, got 2'));

  it('unknown mode', () =>
    rejects(
      clusterText((c) => (c.mode = 'byzantine-ish')),
      'cluster.json: mode: expected one of "crash", "byzantine", "commit-reveal", got "byzantine-ish"',
    ));

  it('unknown field (a typo)', () => {
    rejects(
      clusterText((c) => {
        c.member = c.members;
        delete c.members;
      }),
      'cluster.json: unknown field "member" (expected version, mode, f, members, clients, app, firstMembers)',
    );
    rejects(
      clusterText((c) => {
        c.members[1].adrs = c.members[1].addrs;
        delete c.members[1].addrs;
      }),
      'cluster.json: members[1]: unknown field "adrs" (expected id, publicKey, addrs)',
    );
    rejects(clusterText((c) => (c.clients[0].addrs = [])), 'cluster.json: clients[0]: unknown field "addrs" (expected id, publicKey)');
  });

  it('missing field', () => {
    rejects(clusterText((c) => delete c.clients), 'cluster.json: missing field "clients"');
    rejects(clusterText((c) => delete c.members[3].publicKey), 'cluster.json: members[3]: missing field "publicKey"');
  });

  it('f out of range', () => {
    rejects(clusterText((c) => (c.f = 0)), 'cluster.json: f: expected an integer in 1..85 in byzantine mode, got 0');
    rejects(clusterText((c) => (c.f = 1.5)), 'cluster.json: f: expected an integer in 1..85 in byzantine mode, got 1.5');
    rejects(clusterText((c) => (c.f = '1')), 'cluster.json: f: expected an integer in 1..85 in byzantine mode, got "1"');
    rejects(clusterText((c) => (c.f = 128), 'crash'), 'cluster.json: f: expected an integer in 0..127 in crash mode, got 128');
  });

  it('wrong number of members for f and the mode', () => {
    rejects(clusterText((c) => c.members.pop()), 'cluster.json: f=1 needs 4 members in byzantine mode, got 3');
    rejects(clusterText((c) => (c.mode = 'crash')), 'cluster.json: f=1 needs 3 members in crash mode, got 4');
    rejects(clusterText((c) => (c.f = 2), 'crash'), 'cluster.json: f=2 needs 5 members in crash mode, got 3');
  });

  it('members not an array', () => rejects(clusterText((c) => (c.members = {})), 'cluster.json: members: expected an array'));

  it('member ids out of order or out of range', () => {
    rejects(
      clusterText((c) => ([c.members[1], c.members[2]] = [c.members[2], c.members[1]])),
      'cluster.json: members[1].id: expected 1 (members are listed in id order 0..3), got 2',
    );
    rejects(clusterText((c) => (c.members[0].id = -1)), 'cluster.json: members[0].id: expected an integer in 0..255, got -1');
  });

  it('malformed public keys', () => {
    const message = 'cluster.json: members[2].publicKey: expected 64 hex characters';
    rejects(clusterText((c) => (c.members[2].publicKey = c.members[2].publicKey.slice(2))), message);
    rejects(clusterText((c) => (c.members[2].publicKey = `0x${c.members[2].publicKey.slice(2)}`)), message);
    rejects(clusterText((c) => (c.members[2].publicKey = 7)), message);
    rejects(clusterText((c) => (c.clients[0].publicKey = '')), 'cluster.json: clients[0].publicKey: expected 64 hex characters');
  });

  it('keys that are no usable ed25519 key, in every mode', () => {
    rejects(clusterText((c) => (c.members[1].publicKey = OFF_CURVE_KEY)), 'cluster.json: members[1].publicKey: public key is not a point on the curve');
    rejects(clusterText((c) => (c.members[1].publicKey = SMALL_ORDER_KEY)), 'cluster.json: members[1].publicKey: public key has small order');
    rejects(
      clusterText((c) => (c.members[0].publicKey = SMALL_ORDER_KEY), 'crash'),
      'cluster.json: members[0].publicKey: public key has small order',
    );
  });

  it('a key used twice', () => {
    rejects(
      clusterText((c) => (c.members[3].publicKey = c.members[0].publicKey)),
      'cluster.json: members[3].publicKey: same key as members[0].publicKey; every member and client needs its own',
    );
    rejects(
      clusterText((c) => (c.clients[0].publicKey = c.members[2].publicKey.toUpperCase())),
      'cluster.json: clients[0].publicKey: same key as members[2].publicKey; every member and client needs its own',
    );
  });

  it('a client id used twice', () => {
    rejects(
      clusterText((c) => c.clients.push({ id: 1, publicKey: toHex(clientKey(2).publicKey) })),
      'cluster.json: clients[1].id: client id 1 already used by clients[0]',
    );
  });

  it('addresses: not a multiaddr, not host + TCP, not dialable, none, duplicated', () => {
    rejects(
      clusterText((c) => (c.members[1].addrs = ['tcp:7000'])),
      'cluster.json: members[1].addrs[0]: not a multiaddr: "tcp:7000" (String multiaddr must start with "/")',
    );
    rejects(
      clusterText((c) => (c.members[1].addrs = ['/ip4/127.0.0.1/tcp/70000'])),
      'cluster.json: members[1].addrs[0]: not a multiaddr: "/ip4/127.0.0.1/tcp/70000" (Value must be smaller than or equal to 65535)',
    );
    rejects(
      clusterText((c) => (c.members[1].addrs = ['/ip4/127.0.0.1/udp/7000/quic-v1'])),
      'cluster.json: members[1].addrs[0]: expected /ip4|ip6|dns|dns4|dns6/HOST/tcp/PORT, got "/ip4/127.0.0.1/udp/7000/quic-v1"',
    );
    rejects(
      clusterText((c) => (c.members[1].addrs = ['/ip4/127.0.0.1'])),
      'cluster.json: members[1].addrs[0]: expected /ip4|ip6|dns|dns4|dns6/HOST/tcp/PORT, got "/ip4/127.0.0.1"',
    );
    rejects(
      clusterText((c) => (c.members[0].addrs = ['/ip4/0.0.0.0/tcp/7000'])),
      'cluster.json: members[0].addrs[0]: 0.0.0.0 is not an address peers can dial: "/ip4/0.0.0.0/tcp/7000"',
    );
    rejects(
      clusterText((c) => (c.members[0].addrs = ['/ip4/127.0.0.1/tcp/0'])),
      'cluster.json: members[0].addrs[0]: port 0 is not a port peers can dial: "/ip4/127.0.0.1/tcp/0"',
    );
    rejects(clusterText((c) => (c.members[0].addrs = [7000])), 'cluster.json: members[0].addrs[0]: expected a multiaddr string, got 7000');
    rejects(clusterText((c) => (c.members[0].addrs = [])), 'cluster.json: members[0].addrs: expected at least one multiaddr');
    rejects(clusterText((c) => (c.members[0].addrs = '/ip4/127.0.0.1/tcp/7000')), 'cluster.json: members[0].addrs: expected an array');
    rejects(
      clusterText((c) => (c.members[2].addrs = ['/ip4/127.0.0.1/tcp/7000/'])),
      'cluster.json: members[2].addrs[0]: /ip4/127.0.0.1/tcp/7000 already used by members[0].addrs[0]',
    );
  });

  it('long values are cut short in the message', () => {
    let message = '';
    try {
      parseClusterFile(clusterText((c) => (c.mode = 'x'.repeat(500))), 'cluster.json');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.length).toBeLessThan(200);
    expect(message).toMatch(/x…$/);
  });

  it('the fixture itself is good in every mode', () => {
    for (const mode of ['crash', 'byzantine', 'commit-reveal'] as const) {
      expect(() => toClusterConfig(parseClusterFile(JSON.stringify(clusterObject(mode, 1)), 'c'))).not.toThrow();
    }
  });
});

describe('a reconfigurable cluster.json (crash mode): the universe in members, the first configuration in firstMembers', () => {
  /** Crash mode, f=1: five nodes, the first configuration {0, 1, 2} unless `edit` says otherwise. */
  const reconfigurable = (edit: (c: any) => void = () => {}): string =>
    clusterText((c) => {
      c.firstMembers = [0, 1, 2];
      c.members.push(...[3, 4].map((id) => ({ id, publicKey: toHex(memberKey(id).publicKey), addrs: [`/ip4/127.0.0.1/tcp/${7000 + id}`] })));
      edit(c);
    }, 'crash');

  it('gives n as the universe and the first members, and round-trips', () => {
    const d = parseClusterFile(reconfigurable(), 'cluster.json');
    expect(d.n).toBe(5);
    expect(d.f).toBe(1);
    expect(d.firstMembers).toEqual([0, 1, 2]);
    const text = formatClusterFile(d);
    expect(text).toContain('"firstMembers": [0, 1, 2],');
    expect(parseClusterFile(text, 'cluster.json')).toEqual(d);
    expect(parseClusterFile(clusterText(() => {}, 'crash'), 'cluster.json').firstMembers).toBeUndefined();
  });

  it('any 2f+1 ids of the universe may be first, spares between them', () => {
    expect(parseClusterFile(reconfigurable((c) => (c.firstMembers = [1, 3, 4])), 'cluster.json').firstMembers).toEqual([1, 3, 4]);
    expect(parseClusterFile(clusterText((c) => (c.firstMembers = [0, 1, 2]), 'crash'), 'cluster.json').n).toBe(3);
  });

  it('refuses firstMembers of the wrong size, out of range, repeated or unordered', () => {
    rejects(reconfigurable((c) => (c.firstMembers = [0, 1])), 'cluster.json: firstMembers: f=1 needs 3 first members in crash mode, got 2');
    rejects(reconfigurable((c) => (c.firstMembers = [0, 1, 5])), 'cluster.json: firstMembers[2]: expected an integer in 0..4 (the ids members lists), got 5');
    rejects(reconfigurable((c) => (c.firstMembers = [0, 2, 2])), 'cluster.json: firstMembers[2]: expected distinct ids in ascending order, got 2 after 2');
    rejects(reconfigurable((c) => (c.firstMembers = [2, 1, 0])), 'cluster.json: firstMembers[1]: expected distinct ids in ascending order, got 1 after 2');
    rejects(reconfigurable((c) => (c.firstMembers = 'all')), 'cluster.json: firstMembers: expected an array');
  });

  it('refuses firstMembers in the Byzantine modes, which are not reconfigurable yet', () => {
    rejects(
      clusterText((c) => (c.firstMembers = [0, 1, 2, 3])),
      'cluster.json: firstMembers: byzantine mode is not reconfigurable yet (only crash mode is); remove the field',
    );
  });
});
