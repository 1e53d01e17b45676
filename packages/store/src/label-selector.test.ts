import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { matchesLabelSelector, parseLabelSelector } from './label-selector.js';
import { StoreError } from './types.js';

const labels = { app: 'ratings', version: 'v2', 'sluice.dev/tier': 'db', empty: '' };

describe('parseLabelSelector', () => {
  test('parses every operator into requirements', () => {
    assert.deepEqual(parseLabelSelector('app=ratings, version != v1,env in (b,a), tier notin (x), !canary, track'), [
      { key: 'app', operator: 'Equals', values: ['ratings'] },
      { key: 'version', operator: 'NotEquals', values: ['v1'] },
      { key: 'env', operator: 'In', values: ['a', 'b'] },
      { key: 'tier', operator: 'NotIn', values: ['x'] },
      { key: 'canary', operator: 'DoesNotExist', values: [] },
      { key: 'track', operator: 'Exists', values: [] },
    ]);
  });

  test('"==" means the same as "="; an empty selector has no requirements', () => {
    assert.deepEqual(parseLabelSelector('app==ratings'), parseLabelSelector('app=ratings'));
    assert.deepEqual(parseLabelSelector(''), []);
    assert.deepEqual(parseLabelSelector('   '), []);
  });

  test('empty values are allowed as in Kubernetes', () => {
    assert.deepEqual(parseLabelSelector('a=,b in (x,)'), [
      { key: 'a', operator: 'Equals', values: [''] },
      { key: 'b', operator: 'In', values: ['', 'x'] },
    ]);
  });

  const bad: [string, string, RegExp][] = [
    ['missing value set', 'env in', /expected '\(' after 'in'/],
    ['empty value set', 'env in ()', /must not be empty/],
    ['unterminated set', 'env in (a,b', /missing '\)'/],
    ['dangling comma', 'app=ratings,', /expected a label key/],
    ['two operators', 'app=ratings=x', /expected ',' between requirements/],
    ['unsupported gt', 'replicas>3', /operator '>' is not supported/],
    ['bad key characters', 'a$b=c', /label key "a\$b"/],
    ['bad value characters', 'app=rat$ings', /label value "rat\$ings"/],
    ['key too long', `${'k'.repeat(64)}=v`, /at most 63 characters/],
    ['uppercase prefix', 'Sluice.dev/tier=db', /prefix "Sluice.dev" must be a DNS subdomain/],
    ['unknown word', 'app is ratings', /found "is"/],
    ['bang without key', '!', /expected a label key after '!'/],
  ];
  for (const [name, selector, message] of bad) {
    test(`rejects ${name}: ${JSON.stringify(selector)}`, () => {
      assert.throws(
        () => parseLabelSelector(selector),
        (err: unknown) =>
          err instanceof StoreError &&
          err.code === 'Invalid' &&
          message.test(err.message) &&
          err.message.includes('position'),
      );
    });
  }
});

describe('matchesLabelSelector', () => {
  const cases: [string, boolean][] = [
    ['', true],
    ['app=ratings', true],
    ['app==ratings', true],
    ['app=details', false],
    ['app!=details', true],
    ['app!=ratings', false],
    ['missing!=x', true],
    ['version in (v1,v2)', true],
    ['version in (v1,v3)', false],
    ['missing in (v1)', false],
    ['version notin (v1,v3)', true],
    ['version notin (v2)', false],
    ['missing notin (v2)', true],
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['sluice.dev/tier=db', true],
    ['empty=', true],
    ['empty', true],
    ['app=ratings,version=v1', false],
    ['app=ratings,version in (v2),!canary', true],
  ];
  for (const [selector, expected] of cases) {
    test(`${JSON.stringify(selector)} ${expected ? 'matches' : 'does not match'}`, () => {
      assert.equal(matchesLabelSelector(selector, labels), expected);
      assert.equal(matchesLabelSelector(parseLabelSelector(selector), labels), expected);
    });
  }

  test('an object without labels matches only selectors that need no label', () => {
    assert.equal(matchesLabelSelector('!app', undefined), true);
    assert.equal(matchesLabelSelector('app!=x', undefined), true);
    assert.equal(matchesLabelSelector('app', undefined), false);
  });

  test('a label named like an Object prototype property is not mistaken as present', () => {
    assert.equal(matchesLabelSelector('constructor', {}), false);
    assert.equal(matchesLabelSelector('!toString', {}), true);
  });
});
