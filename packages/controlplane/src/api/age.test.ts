import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ageOf, humanDuration } from './age.js';

test('AGE text follows kubectl: seconds, minutes with seconds, hours, days, years', () => {
  const s = 1000;
  const cases: [number, string][] = [
    [-5 * s, '<invalid>'],
    [0, '0s'],
    [59 * s, '59s'],
    [119 * s, '119s'],
    [120 * s, '2m'],
    [(5 * 60 + 7) * s, '5m7s'],
    [45 * 60 * s, '45m'],
    [(3 * 3600 + 15 * 60) * s, '3h15m'],
    [20 * 3600 * s, '20h'],
    [(3 * 24 + 5) * 3600 * s, '3d5h'],
    [30 * 24 * 3600 * s, '30d'],
    [(3 * 365 + 10) * 24 * 3600 * s, '3y10d'],
    [10 * 365 * 24 * 3600 * s, '10y'],
  ];
  for (const [ms, text] of cases) assert.equal(humanDuration(ms), text, `${ms} ms`);
});

test('a missing or unparsable creationTimestamp shows <unknown>', () => {
  assert.equal(ageOf(undefined), '<unknown>');
  assert.equal(ageOf('yesterday'), '<unknown>');
  assert.equal(ageOf('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:05:00Z')), '5m');
});
