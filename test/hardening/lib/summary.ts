/**
 * The hardening run's summary table. Each scenario appends one row of measured numbers to a JSON
 * lines file; `zz-summary.test.ts` (sorted last) prints the table and fails the run if any row has
 * a leak or a loss.
 *
 * The file is `$SLUICE_HARDENING_SUMMARY` when set, else a temp file named after the test runner's
 * process id: node's runner starts one child per test file, so every file of one run shares it.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One scenario's outcome. Every number is counted by the scenario, never assumed. */
export interface ScenarioRow {
  /** Short name, e.g. "config concurrency (sqlite)". */
  scenario: string;
  /** What was thrown at the system, e.g. "8 writers x 30 rounds". */
  load: string;
  /** The faults or hostile inputs injected, e.g. "stale resourceVersion PUTs, smuggled requests". */
  faults: string;
  /** How many requests the scenario sent and checked. */
  requests: number;
  /** How many bytes the scenario checked (0 when it does not count bytes). */
  bytes: number;
  /** Things that got through that must not: rejected writes stored, malformed bytes upstream, a secret in a log. */
  leaks: number;
  /** Things that went missing that must not: acknowledged writes or events lost, good requests unanswered. */
  losses: number;
  /** What the table has no column for, printed under it: e.g. failures by phase and error code. */
  notes?: string[];
}

export const SUMMARY_ENV = 'SLUICE_HARDENING_SUMMARY';

/** Where this run's rows go. */
export function summaryFile(): string {
  const named = process.env[SUMMARY_ENV];
  if (named) return named;
  return join(tmpdir(), `slt-hard-summary-${process.ppid}.jsonl`);
}

function checkRow(row: ScenarioRow): void {
  for (const key of ['requests', 'bytes', 'leaks', 'losses'] as const) {
    const v = row[key];
    if (!Number.isInteger(v) || v < 0)
      throw new TypeError(`summary row "${row.scenario}": ${key} must be a count (got ${v})`);
  }
  if (!row.scenario) throw new TypeError('summary row: scenario must be named');
  if (row.notes !== undefined && !(Array.isArray(row.notes) && row.notes.every((n) => typeof n === 'string')))
    throw new TypeError(`summary row "${row.scenario}": notes must be a list of strings`);
}

/** Appends one row for this run. */
export function recordScenario(row: ScenarioRow, file = summaryFile()): void {
  checkRow(row);
  appendFileSync(file, `${JSON.stringify(row)}\n`);
}

/** Every row recorded in `file` so far (none when the file does not exist). */
export function readScenarios(file = summaryFile()): ScenarioRow[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      const row = JSON.parse(line) as ScenarioRow;
      try {
        checkRow(row);
      } catch (err) {
        throw new Error(`${file}:${i + 1}: ${(err as Error).message}`);
      }
      return row;
    });
}

function bytesText(n: number): string {
  if (n === 0) return '-';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** The rows as a plain-text table with a header line and a totals line. */
export function formatSummaryTable(rows: readonly ScenarioRow[]): string {
  const header = ['scenario', 'load', 'faults injected', 'requests', 'bytes', 'leaks', 'losses'];
  const body = rows.map((r) => [
    r.scenario,
    r.load,
    r.faults,
    String(r.requests),
    bytesText(r.bytes),
    String(r.leaks),
    String(r.losses),
  ]);
  const sum = (key: 'requests' | 'bytes' | 'leaks' | 'losses') => rows.reduce((n, r) => n + r[key], 0);
  const totals = [
    `total (${rows.length} scenarios)`,
    '',
    '',
    String(sum('requests')),
    bytesText(sum('bytes')),
    String(sum('leaks')),
    String(sum('losses')),
  ];
  const all = [header, ...body, totals];
  const widths = header.map((_, c) => Math.max(...all.map((line) => line[c]!.length)));
  const numeric = new Set([3, 4, 5, 6]);
  const line = (cells: string[]) =>
    cells.map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join(' | ');
  const rule = widths.map((w) => '-'.repeat(w)).join('-+-');
  const notes = rows.flatMap((r) => (r.notes ?? []).map((n) => `  ${r.scenario}: ${n}`));
  return [
    line(header),
    rule,
    ...body.map(line),
    rule,
    line(totals),
    ...(notes.length ? ['', 'notes:', ...notes] : []),
  ].join('\n');
}
