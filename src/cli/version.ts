// The package's version, from its package.json: two levels up in a checkout (src/cli/), three in
// the compiled build (dist/src/cli/). Read on demand, so no other command pays for it.
import { existsSync, readFileSync } from 'node:fs';

const PACKAGE_JSON_CANDIDATES = ['../../package.json', '../../../package.json'];

export function packageVersion(): string {
  for (const candidate of PACKAGE_JSON_CANDIDATES) {
    const url = new URL(candidate, import.meta.url);
    if (!existsSync(url)) continue;
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: unknown; version?: unknown };
    if (pkg.name === 'byzpaxos' && typeof pkg.version === 'string') return pkg.version;
  }
  throw new Error('package.json of byzpaxos not found beside the CLI');
}
