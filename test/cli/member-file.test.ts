// start's options from a member file, the environment and the command line, in that order of
// precedence (lowest first); the file's relative paths are relative to it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { envName, withEnvDefaults } from '../../src/cli/args.ts';
import { parseStartArgs } from '../../src/cli/start.ts';

const dir = mkdtempSync(join(tmpdir(), 'byzpaxos-member-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

function memberFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('environment defaults', () => {
  it('BYZPAXOS_ and the option in capitals fill what the command line left out, never what it gave', () => {
    expect(envName('timeout-ms')).toBe('BYZPAXOS_TIMEOUT_MS');
    const env = { BYZPAXOS_CONFIG: '/env/cluster.json', BYZPAXOS_CLIENT: '', BYZPAXOS_KEY: '/env/key' };
    expect(withEnvDefaults({ key: '/flag/key' } as Record<string, string | undefined>, ['config', 'client', 'key'], env)).toEqual({ config: '/env/cluster.json', key: '/flag/key' });
  });
});

describe('start MEMBER.json', () => {
  it('takes every option from the file, paths relative to it', () => {
    const path = memberFile('n1.json', JSON.stringify({ config: 'cluster.json', id: 1, data: '/var/lib/x', 'metrics-port': 9464, 'log-format': 'json' }));
    expect(parseStartArgs([path])).toMatchObject({ configPath: join(dir, 'cluster.json'), id: 1, dataDir: '/var/lib/x', metricsPort: 9464, metricsHost: '127.0.0.1', logFormat: 'json' });
  });

  it('the environment overrides the file, and the command line both', () => {
    const path = memberFile('n2.json', JSON.stringify({ config: 'cluster.json', id: 2 }));
    vi.stubEnv('BYZPAXOS_ID', '3');
    expect(parseStartArgs([path]).id).toBe(3);
    expect(parseStartArgs([path, '--id', '0']).id).toBe(0);
  });

  it('refuses an unknown field, a wrong type or a file that is not a JSON object, in one line', () => {
    expect(() => parseStartArgs([memberFile('a.json', '{"config": "c", "id": 0, "port": 1}')])).toThrow(/unknown field "port"/);
    expect(() => parseStartArgs([memberFile('b.json', '{"config": "c", "id": true}')])).toThrow(/"id" must be a string or an integer/);
    expect(() => parseStartArgs([memberFile('c.json', '[1]')])).toThrow(/not a JSON object/);
    expect(() => parseStartArgs([join(dir, 'missing.json')])).toThrow(/cannot read \(ENOENT\)/);
  });
});
