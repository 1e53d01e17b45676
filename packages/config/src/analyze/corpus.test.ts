/**
 * The analysis corpus: each testdata/analyze/*.yaml is one scenario naming the exact findings
 * (code, severity, Kind/name, field path) analyze must report — or none.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseManifests } from '../codec.js';
import { normalizeResource } from '../normalize.js';
import { validateResource } from '../validate/index.js';
import { analyze, workloadsOf } from './index.js';

const dir = new URL('../../testdata/analyze/', import.meta.url);

for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
  const text = readFileSync(new URL(file, dir), 'utf8');
  const name = /^# case: (.*)$/m.exec(text)?.[1] ?? file;
  test(`${file}: ${name}`, () => {
    const parsed = parseManifests(text, file);
    assert.deepEqual(parsed.findings, []);
    for (const r of parsed.resources) {
      const errors = validateResource(r).filter((f) => f.severity === 'error');
      assert.deepEqual(errors, [], 'every object of the scenario is valid on its own');
    }
    const resources = parsed.resources.map((r) => normalizeResource(r));
    const opts = /^# with-workloads$/m.test(text) ? { workloads: workloadsOf(resources) } : {};
    const findings = analyze(resources, opts);
    const got = findings.map((f) => `${f.code} ${f.severity} ${f.resource?.kind}/${f.resource?.name} ${f.path}`).sort();
    const expected = [...text.matchAll(/^# expect: (.+)$/gm)].map((m) => m[1]).sort();
    assert.deepEqual(got, expected);
    for (const f of findings) assert.equal(f.source?.file, file);
  });
}
