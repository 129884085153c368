// The flow diagram drawn by a real browser: headless Chromium (Debian's chromium package, or
// $BYZPAXOS_CHROMIUM) opens the page `byzpaxos sim --html` writes for an equivocating leader.
// Skips without a Chromium unless BYZPAXOS_REQUIRE_BROWSER=1 (as .ci/run sets), then fails.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath } from './chromium.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const executablePath = chromiumPath();
const required = process.env.BYZPAXOS_REQUIRE_BROWSER === '1';

it.runIf(required)('BYZPAXOS_REQUIRE_BROWSER=1: a Chromium is there to run the browser test', () => {
  expect(executablePath, "no chromium: install Debian's chromium or set BYZPAXOS_CHROMIUM").not.toBeNull();
});

describe.runIf(executablePath !== null)('flow diagram in headless Chromium', () => {
  let dir: string;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'byzpaxos-flow-'));
    const html = join(dir, 'run.html');
    // The command of the issue, as a user runs it.
    const args = ['sim', '--mode', 'byzantine', '--f', '1', '--seeds', '1', '--adversary', 'equivocating-leader', '--html', html];
    const r = spawnSync(process.execPath, ['src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    browser = await chromium.launch({ executablePath: executablePath! });
    page = await browser.newPage({ viewport: { width: 1400, height: 700 } });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(html).href);
  });

  afterAll(async () => {
    await browser?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const count = (selector: string) => page.locator(selector).count();

  it('draws one lane per node, the Byzantine one marked, and a lane for the clients', async () => {
    expect(errors).toEqual([]);
    expect(await count('g[data-kind="lane"]')).toBe(4);
    expect(await count('g[data-kind="client-lane"]')).toBe(1);
    expect(await count('g[data-kind="lane"].byzantine')).toBe(1);
    expect(await count('g[data-kind="lane"].byzantine.culprit')).toBe(1);
  });

  it('draws arrows of each of the run\'s message types', async () => {
    for (const type of ['request', 'accept', 'verify', 'accepted', 'reply']) {
      expect(await count(`line[data-kind="arrow"][data-type="${type}"]`), type).toBeGreaterThan(0);
    }
  });

  it('filtering by slot or by type draws fewer arrows', async () => {
    const all = await count('[data-kind="arrow"]');
    await page.fill('#slot-min', '2');
    await page.fill('#slot-max', '3');
    const slots = await count('[data-kind="arrow"]');
    expect(slots).toBeGreaterThan(0);
    expect(slots).toBeLessThan(all / 4);
    // …and zooms to when slots 2..3 travelled.
    expect(Number(await page.inputValue('#t-min'))).toBeGreaterThan(0);
    await page.fill('#slot-min', '');
    await page.fill('#slot-max', '');
    expect(await count('[data-kind="arrow"]')).toBe(all);
    await page.uncheck('#legend input[data-type="verify"]');
    expect(await count('[data-kind="arrow"][data-type="verify"]')).toBe(0);
    expect(await count('[data-kind="arrow"]')).toBeLessThan(all);
    await page.check('#legend input[data-type="verify"]');
    expect(await count('[data-kind="arrow"]')).toBe(all);
  });

  it('an evidence marker opens the two conflicting messages of its proof', async () => {
    expect(await page.isHidden('#detail')).toBe(true);
    // The last marker is drawn on top of any it overlaps.
    await page.locator('[data-kind="evidence"]').last().click();
    expect(await page.isVisible('#detail')).toBe(true);
    const first = page.locator('#detail .proof').first();
    expect(await first.textContent()).toMatch(/equivocation by n\d/);
    const messages = await first.locator('.evidence-message').allTextContents();
    expect(messages).toHaveLength(2);
    expect(messages[0]).not.toBe(messages[1]);
    for (const text of messages) expect(text).toMatch(/\[signed n\d\]$/);
  });
});
