import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pathSegments, splitRequestTarget } from './request-path.js';

test('a path is split on the raw bytes and decoded once per segment', () => {
  assert.deepEqual(pathSegments('/apis/networking.istio.io/v1beta1/namespaces/default/serviceentries/a%2Db/'), [
    'apis',
    'networking.istio.io',
    'v1beta1',
    'namespaces',
    'default',
    'serviceentries',
    'a-b',
  ]);
  assert.deepEqual(pathSegments('/'), []);
  assert.deepEqual(pathSegments('/x/%2525'), ['x', '%25'], 'decoded once, not twice');
  const t = splitRequestTarget('/api/v1/namespaces/../pods?labelSelector=app%3Dx&dryRun=All');
  assert.equal(t.rawPath, '/api/v1/namespaces/../pods', 'dot-segments are not resolved');
  assert.equal(t.url.searchParams.get('labelSelector'), 'app=x');
  assert.equal(t.url.searchParams.get('dryRun'), 'All');
  assert.equal(splitRequestTarget('https://127.0.0.1:15080/version?x=1').rawPath, '/version', 'absolute form');
  assert.equal(splitRequestTarget('//evil.example/version').rawPath, '//evil.example/version');
});

test('dot-segments, empty segments, encoded slashes, NUL and bad percent-encoding are BadRequest', () => {
  const cases: [string, RegExp][] = [
    ['/api/v1/namespaces/../pods', /segment 4 \("\.\."\) is a dot-segment/],
    ['/api/v1/namespaces/%2e%2E/pods', /dot-segment/],
    ['/api/v1/namespaces/.%2e/pods', /dot-segment/],
    ['/api/v1/namespaces/%2E/pods', /dot-segment/],
    ['/api/v1/namespaces/./pods', /dot-segment/],
    ['/api/v1//namespaces', /segment 3 is empty/],
    ['//evil.example/version', /segment 1 is empty/],
    ['/api/v1/namespaces/prod%2F..%2Fdefault/pods', /encoded "\/"/],
    ['/api/v1/namespaces/default/pods/a%00', /NUL/],
    ['/api/v1/namespaces/default/pods/%E0%A4%A', /not valid percent-encoding/],
    ['/api/v1/namespaces/default/pods/%', /not valid percent-encoding/],
    ['/api/v1/namespaces/default/pods/%FF', /not valid percent-encoding/],
    ['api/v1', /must start with "\/"/],
  ];
  for (const [path, message] of cases) assert.throws(() => pathSegments(path), { code: 'BadRequest', message }, path);
});
