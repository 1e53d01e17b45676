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
import { validateResource } from './validate/index.js';

const ITERATIONS = 400;
const seed = Number(process.env['SLUICE_FUZZ_SEED'] ?? Date.now() % 2 ** 31);

function prng(s: number) {
  let x = s || 1;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

const corpus = readFileSync(new URL('../testdata/analyze/seed-clean.yaml', import.meta.url), 'utf8');
const extra = readFileSync(new URL('../testdata/validate/virtual-service.yaml', import.meta.url), 'utf8');
const SAMPLES = [null, true, 0, -1, 65536, 1.5, '', '*', '3306', 'x'.repeat(300), [], {}, [null], { a: { b: [] } }];

function mutateValue(value: unknown, pick: (n: number) => number): unknown {
  if (Array.isArray(value)) {
    if (value.length === 0 || pick(4) === 0) return SAMPLES[pick(SAMPLES.length)];
    const copy = [...value];
    const i = pick(copy.length);
    if (pick(3) === 0) copy.splice(i, 1);
    else if (pick(2) === 0) copy.push(copy[i]);
    else copy[i] = mutateValue(copy[i], pick);
    return copy;
  }
  if (typeof value === 'object' && value !== null) {
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(copy);
    if (keys.length === 0 || pick(5) === 0) return SAMPLES[pick(SAMPLES.length)];
    const k = keys[pick(keys.length)] as string;
    const action = pick(4);
    if (action === 0) delete copy[k];
    else if (action === 1) {
      copy[`${k}x`] = copy[k];
      delete copy[k];
    } else copy[k] = mutateValue(copy[k], pick);
    return copy;
  }
  return SAMPLES[pick(SAMPLES.length)];
}

function mutateText(text: string, pick: (n: number) => number): string {
  const at = pick(text.length + 1);
  switch (pick(4)) {
    case 0:
      return text.slice(0, at) + text.slice(at + 1 + pick(20));
    case 1:
      return text.slice(0, at) + ':-[]{}#&*!|>\'"%@`\t\n '[pick(20)] + text.slice(at);
    case 2: {
      const lines = text.split('\n');
      const i = pick(lines.length);
      lines.splice(i, 0, lines[pick(lines.length)] ?? '');
      return lines.join('\n');
    }
    default:
      return text.slice(0, at);
  }
}

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
