/**
 * Fuzz: random mutations of valid documents (text edits and value swaps) go through parse,
 * validate, normalise, analyse and format. Findings or success — never an exception.
 * Set SLUICE_FUZZ_SEED to replay a failing run; the seed is printed on failure.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { analyze, workloadsOf } from './analyze/index.js';
import { parseManifests } from './codec.js';
import { formatFindings } from './format.js';
import { normalizeResource } from './normalize.js';
import type { Resource } from './resource.js';
import { mutateText, mutateValue, prng } from './testing/mutations.js';
import { validateResource } from './validate/index.js';

const ITERATIONS = 400;
const seed = Number(process.env['SLUICE_FUZZ_SEED'] ?? Date.now() % 2 ** 31);

const corpus = readFileSync(new URL('../testdata/analyze/seed-clean.yaml', import.meta.url), 'utf8');
const extra = readFileSync(new URL('../testdata/validate/virtual-service.yaml', import.meta.url), 'utf8');

function runAll(text: string): void {
  const { resources, findings } = parseManifests(text, 'fuzz.yaml');
  for (const r of resources) findings.push(...validateResource(r));
  const normalized = resources.map((r) => normalizeResource(r));
  findings.push(...analyze(normalized, { workloads: workloadsOf(normalized) }));
  formatFindings(findings, { color: true });
  JSON.stringify(findings);
}

test(`mutated manifests give findings or success, never an exception (seed ${seed})`, () => {
  const pick = prng(seed);
  const base = parseManifests(`${corpus}\n---\n${extra}`, 'base.yaml').resources;
  for (let i = 0; i < ITERATIONS; i++) {
    let text: string;
    if (pick(2) === 0) {
      const docs = base.map((r) => {
        const { source: _source, ...plain } = r;
        return pick(3) === 0 ? mutateValue(plain, pick) : (plain as Resource);
      });
      text = docs.map((d) => stringify(d)).join('---\n');
    } else {
      text = corpus;
      for (let k = 0, n = 1 + pick(5); k < n; k++) text = mutateText(text, pick);
    }
    try {
      runAll(text);
    } catch (err) {
      assert.fail(
        `iteration ${i} threw (replay with SLUICE_FUZZ_SEED=${seed}): ${(err as Error).stack}\n--- input ---\n${text.slice(0, 2000)}`,
      );
    }
  }
});
