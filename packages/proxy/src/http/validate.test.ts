import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeResource, encodeResource, TypeUrl } from '@sluice/xds';
import { compileRouteConfiguration } from './compile.js';
import type { RouteConfigError } from './errors.js';
import { validateRouteConfiguration } from './validate.js';

const route = (r: object) => ({ name: '9080', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [r] }] });

test('a Bookinfo-style configuration decoded from the wire is accepted and compiled', () => {
  const rc = {
    name: '9080',
    virtual_hosts: [
      {
        name: 'reviews.default.svc.cluster.local:9080',
        domains: ['reviews.default.svc.cluster.local', 'reviews', 'reviews:9080'],
        include_request_attempt_count: true,
        routes: [
          {
            match: { prefix: '/', headers: [{ name: 'end-user', string_match: { exact: 'jason' } }] },
            route: {
              cluster: 'outbound|9080|v2|reviews.default.svc.cluster.local',
              timeout: '0s',
              retry_policy: {
                retry_on: 'connect-failure,refused-stream,retriable-status-codes',
                num_retries: 2,
                retriable_status_codes: [503],
              },
              max_stream_duration: { max_stream_duration: '0s' },
            },
            typed_per_filter_config: {
              'envoy.filters.http.fault': {
                '@type': TypeUrl.HTTPFault,
                delay: { fixed_delay: '7s', percentage: { numerator: 100 } },
              },
            },
          },
        ],
      },
    ],
  };
  const wire = decodeResource(encodeResource(TypeUrl.RouteConfiguration, rc));
  assert.equal(validateRouteConfiguration(wire), undefined);
  const compiled = compileRouteConfiguration(wire);
  const r = compiled.exact.get('reviews:9080')?.routes[0];
  assert.equal(r?.fault?.delay?.ms, 7000);
  assert.equal(r?.fault?.delay?.fraction, 1);
  assert.equal(r?.action.kind === 'forward' && r.action.timeoutMs, 0, '0s means no timeout');
});

test('Envoy defaults: 15 s route timeout, one retry when num_retries is absent', () => {
  const c = compileRouteConfiguration(
    route({ match: { prefix: '/' }, route: { cluster: 'a', retry_policy: { retry_on: '5xx' } } }),
  );
  const a = c.catchAll?.routes[0]?.action;
  assert.equal(a?.kind === 'forward' && a.timeoutMs, 15_000);
  assert.equal(a?.kind === 'forward' && a.retry?.numRetries, 1);
});

const rejected: [string, object, RegExp][] = [
  [
    'an unknown route field',
    route({ match: { prefix: '/' }, redirect: { path_redirect: '/x' } }),
    /routes\[0\]\.redirect: field not supported/,
  ],
  [
    'two path specifiers',
    route({ match: { prefix: '/', path: '/a' }, route: { cluster: 'a' } }),
    /exactly one of prefix, path, safe_regex/,
  ],
  [
    'a bad regex',
    route({ match: { safe_regex: { regex: '(' } }, route: { cluster: 'a' } }),
    /safe_regex\.regex: invalid regex/,
  ],
  [
    'an unsupported retry_on',
    route({ match: { prefix: '/' }, route: { cluster: 'a', retry_policy: { retry_on: 'envoy-ratelimited' } } }),
    /"envoy-ratelimited" is not supported/,
  ],
  [
    'weights summing to 0',
    route({ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: 0 }] } } }),
    /weights sum to 0/,
  ],
  [
    'a fault abort with a bad status',
    route({
      match: { prefix: '/' },
      route: { cluster: 'a' },
      typed_per_filter_config: {
        'envoy.filters.http.fault': { '@type': TypeUrl.HTTPFault, abort: { http_status: 99 } },
      },
    }),
    /abort\.http_status/,
  ],
  [
    'another per-filter config',
    route({
      match: { prefix: '/' },
      route: { cluster: 'a' },
      typed_per_filter_config: { 'envoy.filters.http.cors': {} },
    }),
    /envoy\.filters\.http\.cors.*not supported/,
  ],
  [
    'a domain used twice',
    {
      name: 'x',
      virtual_hosts: [
        { name: 'a', domains: ['h'], routes: [] },
        { name: 'b', domains: ['H'], routes: [] },
      ],
    },
    /domain "H" is already used/,
  ],
  [
    'a wildcard in the middle',
    { name: 'x', virtual_hosts: [{ name: 'a', domains: ['a.*.com'], routes: [] }] },
    /wildcard may only be the first or the last/,
  ],
  [
    'a header value with a command operator',
    route({
      match: { prefix: '/' },
      route: { cluster: 'a' },
      request_headers_to_add: [{ header: { key: 'x', value: '%START_TIME%' } }],
    }),
    /command operators/,
  ],
];

for (const [name, rc, detail] of rejected) {
  test(`rejected with a field path: ${name}`, () => {
    const problem = validateRouteConfiguration(rc);
    assert.match(problem ?? '', detail);
    assert.match(problem ?? '', /^RouteConfiguration "/);
    assert.throws(
      () => compileRouteConfiguration(rc),
      (e: RouteConfigError) => e.code === 'ROUTE_CONFIG_INVALID',
    );
  });
}
