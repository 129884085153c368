// What an experiment is to the registry and the results writer: it runs, reports progress, and
// returns flat rows, the columns its table shows, and the plots drawn from those rows.
import type { Chart } from './plot.ts';

/** A row of results: its scalar fields become CSV cells; nested ones appear in the JSON only. */
export type Row = Readonly<Record<string, unknown>>;

export interface Column {
  readonly key: string;
  readonly header: string;
  /** Decimals in the Markdown table (CSV and JSON keep the value as computed). */
  readonly digits?: number;
}

export interface Plot {
  /** File name inside the results folder, ending in .svg. */
  readonly file: string;
  readonly chart: Chart;
}

export interface ExperimentResult<R extends Row = Row> {
  readonly rows: R[];
  readonly columns: readonly Column[];
  readonly plots: readonly Plot[];
  /** The seeds the simulated runs used (empty for deployed experiments). */
  readonly seeds: readonly number[];
  /** Every option that shaped the rows, for metadata.json. */
  readonly options: Readonly<Record<string, unknown>>;
}

/** Called after each unit of work (a run, a row); `label` says what was just done. */
export type Progress = (done: number, total: number, label: string) => void;

export interface ExperimentOptions {
  /** --seeds, for experiments that sweep seeds; undefined: the experiment's default. */
  readonly seeds?: number;
  readonly progress: Progress;
  /** Deployed experiments stop early once this fires (SIGINT). */
  readonly signal: AbortSignal;
}

export interface Experiment {
  readonly name: string;
  readonly summary: string;
  /** Simulated experiments are pure functions of their seeds and options: re-runs give identical rows. */
  readonly simulated: boolean;
  /** The default --seeds, or null when the experiment takes no seeds option. */
  readonly seedsDefault: number | null;
  run(options: ExperimentOptions): Promise<ExperimentResult>;
}

/** Seeds 1..count, as every simulated experiment numbers them. */
export function seedRange(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i + 1);
}

/** Each case's row, in order, reporting progress after each. */
export function sweep<C, R>(cases: readonly C[], progress: Progress | undefined, label: (c: C) => string, row: (c: C) => R): R[] {
  return cases.map((c, i) => {
    const r = row(c);
    progress?.(i + 1, cases.length, label(c));
    return r;
  });
}

/** How the simulated experiments that keep the simulator's default links describe them in metadata.json. */
export const SIM_DEFAULT_DELAY = 'simulator default (1-10 ms, jitter)';

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/** The mean to 2 decimals, or null when there is nothing to average (a column's "-"). */
export function meanOrNull(values: readonly number[]): number | null {
  return values.length === 0 ? null : round2(mean(values));
}
