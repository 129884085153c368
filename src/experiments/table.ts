// Rows as a Markdown table and as CSV, from the experiment's columns.
import type { Column, Row } from './experiment.ts';

export function markdownTable(columns: readonly Column[], rows: readonly Row[]): string {
  const lines = rows.map((row) => columns.map((c) => cellText(row[c.key], c.digits)));
  const header = columns.map((c) => c.header);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n');
}

/** RFC 4180: every scalar field of the first row, in its order; nested values are left to the JSON. */
export function csv(rows: readonly Row[]): string {
  if (rows.length === 0) return '';
  const keys = Object.keys(rows[0]!).filter((k) => isScalar(rows[0]![k]));
  const line = (cells: readonly string[]) => cells.map(quote).join(',');
  return [line(keys), ...rows.map((row) => line(keys.map((k) => (row[k] === null || row[k] === undefined ? '' : String(row[k])))))].join('\n') + '\n';
}

function cellText(value: unknown, digits: number | undefined): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number' && digits !== undefined) return value.toFixed(digits);
  return String(value);
}

function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function quote(cell: string): string {
  return /[",\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}
