// The results folder of one experiment run: rows as CSV and JSON, the SVG plots and a Markdown
// summary (all pure functions of the rows: a simulated re-run gives the same bytes), and
// metadata.json, the one file that records what varies between runs (date, commit, machine).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Experiment, ExperimentResult } from './experiment.ts';
import { renderSvg } from './plot.ts';
import { csv, markdownTable } from './table.ts';

export const RESULTS_FILES = { csv: 'rows.csv', json: 'rows.json', summary: 'summary.md', metadata: 'metadata.json' } as const;

/** results/NAME-20261203T201500Z under the working directory: a new folder per run. */
export function defaultResultsDir(name: string, now: Date): string {
  return join('results', `${name}-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`);
}

export function writeResults(dir: string, experiment: Experiment, result: ExperimentResult, command: string, now: Date): string[] {
  mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [
    [RESULTS_FILES.csv, csv(result.rows)],
    [RESULTS_FILES.json, `${JSON.stringify({ rows: result.rows }, null, 1)}\n`],
    ...result.plots.map((p): [string, string] => [p.file, renderSvg(p.chart)]),
    [RESULTS_FILES.summary, summary(experiment, result, command)],
    [RESULTS_FILES.metadata, `${JSON.stringify(metadata(experiment, result, command, now), null, 2)}\n`],
  ];
  for (const [file, text] of files) writeFileSync(join(dir, file), text);
  return files.map(([file]) => join(dir, file));
}

function summary(experiment: Experiment, result: ExperimentResult, command: string): string {
  return [
    `# ${experiment.name}`,
    '',
    experiment.summary,
    '',
    `Made by \`${command}\`${experiment.simulated ? ` (simulated, seeds ${seedText(result.seeds)})` : ' (deployed over libp2p on 127.0.0.1; wall-clock figures vary from run to run)'}.`,
    '',
    markdownTable(result.columns, result.rows),
    '',
    ...result.plots.map((p) => `![${p.chart.title}](${p.file})`),
    '',
  ].join('\n');
}

function metadata(experiment: Experiment, result: ExperimentResult, command: string, now: Date): Record<string, unknown> {
  return {
    experiment: experiment.name,
    command,
    date: now.toISOString(),
    commit: gitCommit(),
    simulated: experiment.simulated,
    seeds: result.seeds,
    options: result.options,
    node: process.version,
    machine: { platform: platform(), release: release(), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, memoryMb: Math.round(totalmem() / 2 ** 20), loadAverage: loadavg() },
  };
}

/** The checked-out commit (with "+dirty" for uncommitted changes), or null outside a git checkout. */
function gitCommit(): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return dirty ? `${head}+dirty` : head;
  } catch {
    return null;
  }
}

function seedText(seeds: readonly number[]): string {
  if (seeds.length === 0) return 'none';
  const contiguous = seeds.every((s, i) => s === seeds[0]! + i);
  return contiguous && seeds.length > 2 ? `${seeds[0]}..${seeds.at(-1)}` : seeds.join(', ');
}
