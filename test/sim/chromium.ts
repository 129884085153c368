// Where a headless Chromium is for the flow diagram's browser test and its README screenshot:
// $BYZPAXOS_CHROMIUM, else Debian's chromium package (.ci/run installs it). Null when none is.
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string | null {
  const given = env.BYZPAXOS_CHROMIUM;
  if (given !== undefined && given !== '') return existsSync(given) ? given : null;
  return CANDIDATES.find((path) => existsSync(path)) ?? null;
}
