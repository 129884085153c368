// Makes docs/flow-equivocating-leader.png, the README's picture of a message-flow diagram:
//   npx node docs/flow-screenshot.ts
// A Byzantine leader (n0) equivocates and is caught; the page is zoomed to the first slots and
// the first evidence marker is opened, as a reader would.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { chromiumPath } from '../test/sim/chromium.ts';

const executablePath = chromiumPath();
if (executablePath === null) throw new Error('no chromium found: install Debian\'s chromium or set BYZPAXOS_CHROMIUM');
const dir = mkdtempSync(join(tmpdir(), 'byzpaxos-flow-'));
const page = join(dir, 'run.html');
try {
  execFileSync('npx', ['byzpaxos', 'sim', '--mode', 'byzantine', '--f', '1', '--seeds', '1', '--adversary', 'equivocating-leader', '--byzantine', '0', '--commands', '20', '--html', page], { stdio: 'inherit' });
  const browser = await chromium.launch({ executablePath });
  try {
    const tab = await browser.newPage({ viewport: { width: 1400, height: 560 } });
    await tab.goto(pathToFileURL(page).href);
    await tab.fill('#slot-max', '1');
    await tab.fill('#t-min', '0');
    await tab.fill('#t-max', '80');
    await tab.press('#t-max', 'Enter');
    await tab.locator('[data-kind="evidence"]').first().click();
    await tab.screenshot({ path: 'docs/flow-equivocating-leader.png' });
  } finally {
    await browser.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
