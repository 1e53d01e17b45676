/**
 * The end of the hardening run (this file sorts last): prints the summary table of every scenario
 * recorded by the files before it, and fails the run if any scenario leaked or lost anything.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { formatSummaryTable, readScenarios, SUMMARY_ENV, summaryFile } from './lib/summary.js';

test('hardening summary: every scenario ran with zero leaks and zero losses', () => {
  const file = summaryFile();
  const rows = readScenarios(file);
  process.stdout.write(`\nHardening summary (${file})\n${formatSummaryTable(rows)}\n\n`);
  // The default file belongs to this run only; a file named by the caller is theirs to keep.
  if (!process.env[SUMMARY_ENV]) rmSync(file, { force: true });
  assert.ok(rows.length > 0, `no scenario recorded a row in ${file}: run the other test/hardening files first`);
  const bad = rows.filter((r) => r.leaks > 0 || r.losses > 0);
  assert.deepEqual(
    bad.map((r) => `${r.scenario}: ${r.leaks} leaks, ${r.losses} losses`),
    [],
    'scenarios with leaks or losses',
  );
});
