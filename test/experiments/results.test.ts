import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runFaults } from '../../src/experiments/faults.ts';
import { EXPERIMENTS, experimentNamed } from '../../src/experiments/registry.ts';
import { RESULTS_FILES, writeResults } from '../../src/experiments/results.ts';
import { csv, markdownTable } from '../../src/experiments/table.ts';

const root = mkdtempSync(join(tmpdir(), 'byzpaxos-results-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('results folder', () => {
  // Tiny: one mode, two drop rates, one seed; the default sizes are the CLI's.
  const tiny = () => runFaults({ seeds: 1, modes: ['crash'], drops: [0, 0.2], partitions: [false], commands: 20 });
  const faults = experimentNamed('faults')!;

  it('a simulated experiment re-run with the same seeds writes byte-identical files but for metadata.json', () => {
    const a = join(root, 'a');
    const b = join(root, 'b');
    writeResults(a, faults, tiny(), 'test', new Date(0));
    writeResults(b, faults, tiny(), 'test', new Date(1));
    const files = readdirSync(a).sort();
    expect(files).toEqual([RESULTS_FILES.metadata, RESULTS_FILES.csv, RESULTS_FILES.json, RESULTS_FILES.summary, 'throughput-vs-drop.svg'].sort());
    for (const file of files.filter((f) => f !== RESULTS_FILES.metadata)) {
      expect(readFileSync(join(b, file), 'utf8'), file).toBe(readFileSync(join(a, file), 'utf8'));
    }
    expect(readFileSync(join(b, RESULTS_FILES.metadata), 'utf8')).not.toBe(readFileSync(join(a, RESULTS_FILES.metadata), 'utf8'));
  });

  it('writes every row to CSV and JSON, and the seeds and options to metadata.json', () => {
    const dir = join(root, 'c');
    const result = tiny();
    writeResults(dir, faults, result, 'byzpaxos experiment faults', new Date(0));
    const lines = readFileSync(join(dir, RESULTS_FILES.csv), 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('mode,n,drop,partition,seeds,decisionsPerSec,liveAfterHeal,safetyViolations');
    expect(lines).toHaveLength(1 + 2);
    expect(lines[1]).toMatch(/^crash,3,0,false,1,[\d.]+,1,0$/);
    expect(JSON.parse(readFileSync(join(dir, RESULTS_FILES.json), 'utf8')).rows).toEqual(result.rows);
    const meta = JSON.parse(readFileSync(join(dir, RESULTS_FILES.metadata), 'utf8'));
    expect(meta).toMatchObject({ experiment: 'faults', command: 'byzpaxos experiment faults', seeds: [1], node: process.version });
    expect(meta.options.drops).toEqual([0, 0.2]);
    expect(readFileSync(join(dir, RESULTS_FILES.summary), 'utf8')).toContain('![Simulated throughput during faults vs drop rate (f = 1)](throughput-vs-drop.svg)');
    // One point per row in the plot.
    expect(readFileSync(join(dir, 'throughput-vs-drop.svg'), 'utf8').match(/class="mark"/g)).toHaveLength(2);
  });

  it('throughput falls as the network drops more messages', () => {
    const [clean, lossy] = tiny().rows;
    expect(clean!.decisionsPerSec).toBeGreaterThan(lossy!.decisionsPerSec);
  });

  it('names every experiment the issue asks for', () => {
    expect(EXPERIMENTS.map((e) => e.name).sort()).toEqual(['attack', 'detection', 'faults', 'load', 'overhead', 'scaling']);
  });
});

describe('tables', () => {
  const rows = [{ mode: 'crash', ratio: 0.5, note: 'a, "b"', nested: { x: 1 }, missing: null }];
  it('quotes CSV cells that need it and leaves nested values to the JSON', () => {
    expect(csv(rows)).toBe('mode,ratio,note,missing\ncrash,0.5,"a, ""b""",\n');
  });
  it('formats Markdown cells with the column digits, and null as -', () => {
    const table = markdownTable([{ key: 'mode', header: 'mode' }, { key: 'ratio', header: 'ratio', digits: 3 }, { key: 'missing', header: 'm' }], rows);
    expect(table.split('\n')).toEqual(['| mode  | ratio | m |', '|-------|-------|---|', '| crash | 0.500 | - |']);
  });
});
