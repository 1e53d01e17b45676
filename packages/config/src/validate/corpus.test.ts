/**
 * The validation corpus: testdata/validate/*.yaml, one case per document, each naming the exact
 * findings (code, severity, field path) it must produce — or none.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parseManifests } from '../codec.js';
import { lineOf } from '../lines.js';
import { validateResource } from './index.js';

const dir = new URL('../../testdata/validate/', import.meta.url);

interface Case {
  name: string;
  text: string;
  expect: string[];
}

function casesOf(file: string): Case[] {
  const text = readFileSync(new URL(file, dir), 'utf8');
  return text.split(/^---$/m).map((chunk) => ({
    name: /^# case: (.*)$/m.exec(chunk)?.[1] ?? '(unnamed)',
    text: chunk,
    expect: [...chunk.matchAll(/^# expect: (\S+) (\S+) (.+)$/gm)].map((m) => `${m[1]} ${m[2]} ${m[3]}`).sort(),
  }));
}

const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
let total = 0;

for (const file of files) {
  describe(file, () => {
    for (const c of casesOf(file)) {
      total++;
      test(c.name, () => {
        const parsed = parseManifests(c.text, file);
        assert.deepEqual(parsed.findings, [], 'the case parses');
        assert.ok(parsed.resources.length > 0, 'the case holds an object');
        const got: string[] = [];
        for (const r of parsed.resources) {
          for (const f of validateResource(r)) {
            got.push(`${f.code} ${f.severity} ${f.path}`);
            assert.ok(f.message.length > 10, `${f.code} has a message`);
            assert.equal(f.source?.file, file);
            assert.equal(
              f.source?.line,
              lineOf(r, f.path) ?? r.source.line,
              `${f.code} points at the line of ${f.path}`,
            );
          }
        }
        assert.deepEqual(got.sort(), c.expect);
      });
    }
  });
}

test('the corpus holds at least 80 cases', () => {
  assert.ok(total >= 80, `${total} cases`);
});
