// Key files: created 0600, refused when others may read them, refused when they do not hold the
// key the cluster configures. Messages are one line and never quote the secret.
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toHex } from '../../crypto/digest.ts';
import { parseClusterFile } from '../../src/deploy/cluster-file.ts';
import { formatKeyFile, keyFileName, loadKeyFile, parseKeyFile, writeKeyFile, type KeyFile } from '../../src/deploy/key-file.ts';
import { clientKey, clusterText, memberKey } from './fixtures.ts';

const POSIX = process.platform !== 'win32';
const dir = mkdtempSync(join(tmpdir(), 'byzpaxos-key-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cluster = parseClusterFile(clusterText(), 'cluster.json');
const member2: KeyFile = { role: 'member', id: 2, ...memberKey(2) };
const client1: KeyFile = { role: 'client', id: 1, ...clientKey(1) };
let counter = 0;

function fresh(key: KeyFile): string {
  const path = join(dir, `${counter++}-${keyFileName(key.role, key.id)}`);
  writeKeyFile(path, key);
  return path;
}

/** A file with `text`, mode 0600. */
function raw(text: string): string {
  const path = join(dir, `${counter++}-raw.key`);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

function edited(edit: (k: Record<string, unknown>) => void): string {
  const obj = JSON.parse(formatKeyFile(member2)) as Record<string, unknown>;
  edit(obj);
  return JSON.stringify(obj);
}

function loadError(path: string, options: Parameters<typeof loadKeyFile>[1] = {}): string {
  try {
    loadKeyFile(path, options);
  } catch (e) {
    const message = (e as Error).message;
    expect(message).not.toMatch(/\n/);
    expect(message).not.toContain(toHex(member2.secretKey));
    return message;
  }
  throw new Error(`${path} was accepted`);
}

describe('key files', () => {
  it('names: node-<id>.key and client-<id>.key', () => {
    expect(keyFileName('member', 3)).toBe('node-3.key');
    expect(keyFileName('client', 1)).toBe('client-1.key');
  });

  it('the format', () => {
    expect(JSON.parse(formatKeyFile(member2))).toEqual({
      type: 'byzpaxos-key',
      version: 1,
      role: 'member',
      id: 2,
      publicKey: toHex(member2.publicKey),
      secretKey: toHex(member2.secretKey),
    });
  });

  it.runIf(POSIX)('are created with mode 0600 even under a permissive umask', () => {
    const previous = process.umask(0o000);
    try {
      const path = fresh(member2);
      expect(statSync(path).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(previous);
    }
  });

  it('round-trip, checked against role, id and the cluster', () => {
    const path = fresh(member2);
    const key = loadKeyFile(path, { expectRole: 'member', expectId: 2, cluster });
    expect(key).toEqual(member2);
    expect(loadKeyFile(fresh(client1), { expectRole: 'client', expectId: 1, cluster })).toEqual(client1);
  });

  it('are never overwritten unless asked, and a replaced one is 0600 again', () => {
    const path = fresh(member2);
    expect(() => writeKeyFile(path, client1)).toThrow(/EEXIST/);
    chmodSync(path, 0o644);
    writeKeyFile(path, client1, { replace: true });
    if (POSIX) expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8')).role).toBe('client');
  });

  it.runIf(POSIX)('are refused when group or others may read or write them, like ssh', () => {
    const path = fresh(member2);
    chmodSync(path, 0o644);
    expect(loadError(path)).toBe(`key file ${path} is readable by others (mode 0644); chmod 600 it`);
    chmodSync(path, 0o640);
    expect(loadError(path)).toBe(`key file ${path} is readable by others (mode 0640); chmod 600 it`);
    chmodSync(path, 0o620);
    expect(loadError(path)).toBe(`key file ${path} is writable by others (mode 0620); chmod 600 it`);
    chmodSync(path, 0o400);
    expect(loadKeyFile(path)).toEqual(member2);
  });

  it('are refused when the public key does not match the secret', () => {
    const path = raw(edited((k) => (k.publicKey = toHex(memberKey(3).publicKey))));
    expect(loadError(path)).toBe(`${path}: publicKey: does not match secretKey`);
  });

  it('are refused when they are not the key the cluster configures for that id', () => {
    const other: KeyFile = { role: 'member', id: 2, ...memberKey(9) };
    const path = fresh(other);
    expect(loadError(path, { cluster })).toBe(
      `${path}: public key ${toHex(other.publicKey).slice(0, 16)}… is not the key the cluster configures for member 2 (${toHex(member2.publicKey).slice(0, 16)}…)`,
    );
    // Node 3's own, valid key file, presented as node 2's.
    const path3 = fresh({ role: 'member', id: 3, ...memberKey(3) });
    expect(loadError(path3, { expectId: 2, cluster })).toBe(`${path3}: id: expected 2, got 3`);
    const path7 = fresh({ role: 'member', id: 7, ...memberKey(7) });
    expect(loadError(path7, { cluster })).toBe(`${path7}: member 7 is not in the cluster`);
    const client = fresh(client1);
    expect(loadError(client, { expectRole: 'member' })).toBe(`${client}: role: expected "member", got "client"`);
  });

  it('are refused when malformed, without quoting the secret', () => {
    const cases: [string, string][] = [
      [`{"secretKey": "${toHex(member2.secretKey)}",`, 'not JSON'],
      [edited((k) => (k.type = 'ssh-key')), 'type: expected "byzpaxos-key", got "ssh-key"'],
      [edited((k) => (k.version = 2)), 'version: expected 1, got 2'],
      [edited((k) => (k.role = 'node')), 'role: expected "member" or "client", got "node"'],
      [edited((k) => (k.id = 256)), 'id: expected an integer in 0..255, got 256'],
      [edited((k) => (k.secretKey = `${toHex(member2.secretKey)}00`)), 'secretKey: expected 64 hex characters'],
      [edited((k) => (k.publicKey = 'zz')), 'publicKey: expected 64 hex characters'],
      [edited((k) => (k.comment = 'x')), 'unknown field "comment" (expected type, version, role, id, publicKey, secretKey)'],
      [edited((k) => delete k.secretKey), 'missing field "secretKey"'],
    ];
    for (const [text, problem] of cases) {
      const path = raw(text);
      expect(loadError(path)).toBe(`${path}: ${problem}`);
    }
  });

  it('are refused when missing, not a file, or too large', () => {
    const missing = join(dir, 'missing.key');
    expect(loadError(missing)).toBe(`${missing}: cannot read (ENOENT)`);
    if (POSIX) {
      chmodSync(dir, 0o700);
      const sub = mkdtempSync(join(dir, 'sub-'));
      chmodSync(sub, 0o700);
      expect(loadError(sub)).toBe(`${sub}: not a regular file`);
    }
    const big = raw(' '.repeat(5000));
    expect(loadError(big)).toBe(`${big}: 5000 bytes, more than 4096`);
  });

  it('parseKeyFile alone checks the text', () => {
    expect(parseKeyFile(formatKeyFile(client1), 'k')).toEqual(client1);
  });
});
