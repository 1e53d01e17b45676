import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { request, startProxy, startUpstream, staticCluster, type Upstream, until } from './test-harness.js';

const FAULT = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

const routeConfig = (o: object) => o;

// biome-ignore lint/suspicious/noExplicitAny: route JSON fixtures
function rc(routes: any[], domains = ['*'], extra: any = {}) {
  return routeConfig({
    name: '9080',
    virtual_hosts: [{ name: 'test', domains, routes, ...extra }],
  });
}

async function echo(name: string) {
  return startUpstream((_req, res, seen) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ served: name, url: seen.url }));
  });
}

test('virtual host chosen by Host: exact, *.suffix, prefix*, catch-all, with :port', async (t) => {
  const ups = await Promise.all(['exact', 'suffix', 'prefix', 'any', 'port'].map(echo));
  t.after(() => Promise.all(ups.map((u) => u.close())));
  const [exact, suffix, prefix, any, port] = ups as [Upstream, Upstream, Upstream, Upstream, Upstream];
  const vh = (name: string, domains: string[]) => ({
    name,
    domains,
    routes: [{ match: { prefix: '/' }, route: { cluster: name } }],
  });
  const routes = routeConfig({
    name: '80',
    virtual_hosts: [
      vh('exact', ['reviews', 'reviews.default.svc.cluster.local']),
      vh('suffix', ['*.example.com']),
      vh('prefix', ['api.*']),
      vh('port', ['reviews:9080']),
      vh('any', ['*']),
    ],
  });
  const clusters = [
    staticCluster('exact', [exact.endpoint]),
    staticCluster('suffix', [suffix.endpoint]),
    staticCluster('prefix', [prefix.endpoint]),
    staticCluster('any', [any.endpoint]),
    staticCluster('port', [port.endpoint]),
  ];
  const proxy = await startProxy(routes, clusters);
  t.after(() => proxy.close());
  const served = async (host: string) =>
    JSON.parse((await request(proxy.port, { headers: { host } })).body).served as string;
  assert.equal(await served('reviews'), 'exact');
  assert.equal(await served('REVIEWS.default.svc.cluster.local'), 'exact');
  assert.equal(await served('reviews:9080'), 'port');
  assert.equal(await served('www.example.com'), 'suffix');
  assert.equal(await served('a.b.example.com'), 'suffix');
  assert.equal(await served('api.internal'), 'prefix');
  assert.equal(await served('example.com'), 'any', 'a wildcard stands for at least one character');
  assert.equal(await served('reviews:8080'), 'any', 'the port is part of the host unless configured');
});

test('no virtual host or no route answers 404 NR', async (t) => {
  const routes = routeConfig({
    name: '80',
    virtual_hosts: [
      { name: 'a', domains: ['a'], routes: [{ match: { path: '/only' }, direct_response: { status: 200 } }] },
    ],
  });
  const proxy = await startProxy(routes, []);
  t.after(() => proxy.close());
  const r1 = await request(proxy.port, { headers: { host: 'b' } });
  const r2 = await request(proxy.port, { path: '/other', headers: { host: 'a' } });
  assert.equal(r1.status, 404);
  assert.equal(r2.status, 404);
  await until(() => proxy.logs.length === 2);
  assert.deepEqual(
    proxy.logs.map((l) => l.response_flags),
    ['NR', 'NR'],
  );
});

test('route match kinds: prefix, path, regex, case_sensitive, headers, query parameters, :method', async (t) => {
  const up = await echo('x');
  t.after(() => up.close());
  const dr = (body: string) => ({ direct_response: { status: 200, body: { inline_string: body } } });
  const routes = rc([
    { name: 'path', match: { path: '/exact' }, ...dr('path') },
    { name: 'ci', match: { prefix: '/CaSe', case_sensitive: false }, ...dr('ci') },
    { name: 'regex', match: { safe_regex: { regex: '/ratings/[0-9]+' } }, ...dr('regex') },
    {
      name: 'post',
      match: { prefix: '/m', headers: [{ name: ':method', string_match: { exact: 'POST' } }] },
      ...dr('post'),
    },
    {
      name: 'hdr-prefix',
      match: { prefix: '/h', headers: [{ name: 'x-ver', string_match: { prefix: 'v2' } }] },
      ...dr('v2'),
    },
    {
      name: 'hdr-regex',
      match: { prefix: '/h', headers: [{ name: 'x-ver', string_match: { safe_regex: { regex: 'v[34]' } } }] },
      ...dr('v34'),
    },
    { name: 'present', match: { prefix: '/h', headers: [{ name: 'x-debug', present_match: true }] }, ...dr('debug') },
    {
      name: 'inverted',
      match: { prefix: '/h', headers: [{ name: 'x-ver', string_match: { exact: 'v1' }, invert_match: true }] },
      ...dr('not-v1'),
    },
    {
      name: 'query',
      match: { prefix: '/q', query_parameters: [{ name: 'u', string_match: { exact: 'test' } }] },
      ...dr('query'),
    },
    {
      name: 'query-present',
      match: { prefix: '/q', query_parameters: [{ name: 'debug', present_match: true }] },
      ...dr('qp'),
    },
    { name: 'fallback', match: { prefix: '/' }, ...dr('fallback') },
  ]);
  const proxy = await startProxy(routes, []);
  t.after(() => proxy.close());
  const body = async (path: string, method = 'GET', headers: Record<string, string> = {}) =>
    (await request(proxy.port, { path, method, headers })).body;
  assert.equal(await body('/exact'), 'path');
  assert.equal(await body('/exact?x=1'), 'path', 'the query string is not part of a path match');
  assert.equal(await body('/exact/more'), 'fallback');
  assert.equal(await body('/case/x'), 'ci');
  assert.equal(await body('/ratings/12'), 'regex');
  assert.equal(await body('/ratings/12x'), 'fallback', 'a regex must match the whole path');
  assert.equal(await body('/m', 'POST'), 'post');
  assert.equal(await body('/m', 'GET'), 'fallback');
  assert.equal(await body('/h', 'GET', { 'x-ver': 'v2beta' }), 'v2');
  assert.equal(await body('/h', 'GET', { 'x-ver': 'v4' }), 'v34');
  assert.equal(await body('/h', 'GET', { 'x-ver': 'v1', 'x-debug': '' }), 'debug');
  assert.equal(await body('/h', 'GET', { 'x-ver': 'v5' }), 'not-v1');
  assert.equal(await body('/h', 'GET', { 'x-ver': 'v1' }), 'fallback');
  assert.equal(await body('/h'), 'fallback', 'a missing header does not match an inverted value matcher');
  assert.equal(await body('/q?u=test'), 'query');
  assert.equal(await body('/q?u=normal'), 'fallback');
  assert.equal(await body('/q?a=1&debug'), 'qp');
});

test('end-user: jason goes to reviews v2, everyone else to v1 (Bookinfo request routing)', async (t) => {
  const v1 = await echo('v1');
  const v2 = await echo('v2');
  t.after(() => Promise.all([v1.close(), v2.close()]));
  const routes = rc(
    [
      {
        match: { prefix: '/', headers: [{ name: 'end-user', string_match: { exact: 'jason' } }] },
        route: { cluster: 'outbound|9080|v2|reviews.default.svc.cluster.local', timeout: '0s' },
      },
      {
        match: { prefix: '/' },
        route: { cluster: 'outbound|9080|v1|reviews.default.svc.cluster.local', timeout: '0s' },
      },
    ],
    ['reviews', 'reviews:9080'],
  );
  const proxy = await startProxy(routes, [
    staticCluster('outbound|9080|v1|reviews.default.svc.cluster.local', [v1.endpoint]),
    staticCluster('outbound|9080|v2|reviews.default.svc.cluster.local', [v2.endpoint]),
  ]);
  t.after(() => proxy.close());
  const jason = await request(proxy.port, {
    path: '/reviews/0',
    headers: { host: 'reviews:9080', 'end-user': 'jason' },
  });
  const anon = await request(proxy.port, { path: '/reviews/0', headers: { host: 'reviews:9080' } });
  const other = await request(proxy.port, {
    path: '/reviews/0',
    headers: { host: 'reviews:9080', 'end-user': 'Jason' },
  });
  assert.equal(JSON.parse(jason.body).served, 'v2');
  assert.equal(JSON.parse(anon.body).served, 'v1');
  assert.equal(JSON.parse(other.body).served, 'v1', 'exact match is case sensitive');
  assert.equal(v2.seen[0]?.headers['end-user'], 'jason', 'the header is forwarded');
  await until(() => proxy.logs.length === 3);
  const log = proxy.logs.find((l) => l.upstream_cluster?.includes('|v2|'));
  assert.equal(log?.response_code, 200);
  assert.equal(log?.upstream_host, `127.0.0.1:${v2.endpoint.port}`);
  assert.equal(log?.path, '/reviews/0');
});

test('weights 50/50 split requests between both subsets', async (t) => {
  const a = await echo('a');
  const b = await echo('b');
  t.after(() => Promise.all([a.close(), b.close()]));
  const routes = rc([
    {
      match: { prefix: '/' },
      route: {
        weighted_clusters: {
          clusters: [
            { name: 'a', weight: 50 },
            { name: 'b', weight: 50 },
          ],
        },
      },
    },
  ]);
  const proxy = await startProxy(routes, [staticCluster('a', [a.endpoint]), staticCluster('b', [b.endpoint])]);
  t.after(() => proxy.close());
  const n = 200;
  for (let i = 0; i < n; i++) await request(proxy.port);
  // P(outside [50, 150]) for Binomial(200, 0.5) is below 1e-12
  assert.ok(a.seen.length >= 50 && a.seen.length <= 150, `a got ${a.seen.length}`);
  assert.equal(a.seen.length + b.seen.length, n);
});

test('a weight of 0 gets nothing', async (t) => {
  const a = await echo('a');
  const b = await echo('b');
  t.after(() => Promise.all([a.close(), b.close()]));
  const routes = rc([
    {
      match: { prefix: '/' },
      route: {
        weighted_clusters: {
          clusters: [
            { name: 'a', weight: 100 },
            { name: 'b', weight: 0 },
          ],
        },
      },
    },
  ]);
  const proxy = await startProxy(routes, [staticCluster('a', [a.endpoint]), staticCluster('b', [b.endpoint])]);
  t.after(() => proxy.close());
  for (let i = 0; i < 30; i++) await request(proxy.port);
  assert.equal(b.seen.length, 0);
});

test('route timeout: a slow upstream gets 504 "upstream request timeout" flagged UT', async (t) => {
  const slow = await startUpstream((_req, res) => {
    const timer = setTimeout(() => res.end('late'), 2000);
    res.on('close', () => clearTimeout(timer));
  });
  t.after(() => slow.close());
  const routes = rc([{ match: { prefix: '/' }, route: { cluster: 'slow', timeout: '0.200s' } }]);
  const proxy = await startProxy(routes, [staticCluster('slow', [slow.endpoint])]);
  t.after(() => proxy.close());
  const r = await request(proxy.port);
  assert.equal(r.status, 504);
  assert.equal(r.body, 'upstream request timeout');
  await until(() => proxy.logs.length === 1);
  assert.equal(proxy.logs[0]?.response_flags, 'UT');
  const metrics = await proxy.metrics.exposition();
  assert.match(
    metrics,
    /istio_requests_total\{[^}]*destination_service_name="slow"[^}]*response_flags="UT",response_code="504"\} 1/,
  );
  assert.match(metrics, /istio_request_duration_milliseconds_count\{[^}]*response_code="504"\} 1/);
});

test('retries: an upstream failing twice succeeds on the third try; exhausted retries flag URX', async (t) => {
  let failures = 2;
  const flaky = await startUpstream((_req, res) => {
    if (failures-- > 0) {
      res.statusCode = 503;
      res.end('unavailable');
    } else res.end('ok');
  });
  t.after(() => flaky.close());
  const retry = (n: number) => ({ retry_on: '5xx', num_retries: n });
  const routes = rc([
    { match: { prefix: '/two' }, route: { cluster: 'flaky', retry_policy: retry(2) } },
    { match: { prefix: '/one' }, route: { cluster: 'flaky', retry_policy: retry(1) } },
  ]);
  const proxy = await startProxy(routes, [staticCluster('flaky', [flaky.endpoint])]);
  t.after(() => proxy.close());
  const ok = await request(proxy.port, { path: '/two', method: 'POST', body: 'payload' });
  assert.equal(ok.status, 200);
  assert.equal(ok.body, 'ok');
  assert.equal(flaky.seen.length, 3);
  assert.deepEqual(
    flaky.seen.map((s) => s.body),
    ['payload', 'payload', 'payload'],
    'the body is replayed',
  );
  failures = 5;
  const exhausted = await request(proxy.port, { path: '/one' });
  assert.equal(exhausted.status, 503);
  assert.equal(exhausted.body, 'unavailable', 'the last upstream response is passed on');
  await until(() => proxy.logs.length === 2);
  assert.equal(proxy.logs[1]?.response_flags, 'URX');
});

test('retry on connect-failure moves on to another endpoint; without retries a refused connect is 503 UF', async (t) => {
  const good = await echo('good');
  t.after(() => good.close());
  // a port nobody listens on: bind, note it, close
  const dead = await new Promise<number>((r) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => r(p));
    });
  });
  const deadEp = { address: '127.0.0.1', port: dead };
  const routes = rc([
    {
      match: { prefix: '/retry' },
      route: {
        cluster: 'mixed',
        retry_policy: {
          retry_on: 'connect-failure',
          num_retries: 2,
          retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
        },
      },
    },
    { match: { prefix: '/' }, route: { cluster: 'dead' } },
  ]);
  const proxy = await startProxy(routes, [
    staticCluster('mixed', [deadEp, good.endpoint]),
    staticCluster('dead', [deadEp]),
  ]);
  t.after(() => proxy.close());
  const r = await request(proxy.port, { path: '/retry' });
  assert.equal(r.status, 200);
  const f = await request(proxy.port, { path: '/x' });
  assert.equal(f.status, 503);
  assert.match(f.body, /^upstream connect error or disconnect\/reset before headers\. reset reason: /);
  await until(() => proxy.logs.length === 2);
  assert.equal(proxy.logs[1]?.response_flags, 'UF');
});

test('fault injection: fixed delay (DI) then the upstream answers; abort 500 and 555 (FI)', async (t) => {
  const up = await echo('ratings');
  t.after(() => up.close());
  const fault = (f: object) => ({ 'envoy.filters.http.fault': { '@type': FAULT, ...f } });
  const all = { numerator: 100, denominator: 'HUNDRED' };
  const routes = rc([
    {
      name: 'delay',
      match: { prefix: '/delay' },
      route: { cluster: 'ratings' },
      typed_per_filter_config: fault({ delay: { fixed_delay: '0.200s', percentage: all } }),
    },
    {
      name: 'abort500',
      match: { prefix: '/abort500' },
      route: { cluster: 'ratings' },
      typed_per_filter_config: fault({ abort: { http_status: 500, percentage: all } }),
    },
    {
      name: 'abort555',
      match: { prefix: '/abort555' },
      route: { cluster: 'ratings' },
      typed_per_filter_config: fault({
        abort: { http_status: 555, percentage: { numerator: 1000000, denominator: 'MILLION' } },
      }),
    },
    {
      name: 'never',
      match: { prefix: '/never' },
      route: { cluster: 'ratings' },
      typed_per_filter_config: fault({ abort: { http_status: 500, percentage: { numerator: 0 } } }),
    },
  ]);
  const proxy = await startProxy(routes, [staticCluster('ratings', [up.endpoint])]);
  t.after(() => proxy.close());
  const d = await request(proxy.port, { path: '/delay' });
  assert.equal(d.status, 200);
  const a500 = await request(proxy.port, { path: '/abort500' });
  assert.equal(a500.status, 500);
  assert.equal(a500.body, 'fault filter abort');
  const a555 = await request(proxy.port, { path: '/abort555' });
  assert.equal(a555.status, 555);
  const never = await request(proxy.port, { path: '/never' });
  assert.equal(never.status, 200);
  assert.deepEqual(
    up.seen.map((s) => s.url),
    ['/delay', '/never'],
    'aborted requests never reach the upstream',
  );
  await until(() => proxy.logs.length === 4);
  const byRoute = Object.fromEntries(proxy.logs.map((l) => [l.route_name, l]));
  assert.equal(byRoute['delay']?.response_flags, 'DI');
  assert.ok((byRoute['delay']?.duration ?? 0) >= 150, 'the delay was applied');
  assert.equal(byRoute['abort500']?.response_flags, 'FI');
  assert.equal(byRoute['abort555']?.response_code, 555);
});

test('a route to a missing subset answers 503 NC and the log names the subset', async (t) => {
  const routes = rc([
    { match: { prefix: '/' }, route: { cluster: 'outbound|9080|v3|reviews.default.svc.cluster.local' } },
  ]);
  const proxy = await startProxy(routes, []);
  t.after(() => proxy.close());
  const r = await request(proxy.port);
  assert.equal(r.status, 503);
  await until(() => proxy.logs.length === 1);
  assert.equal(proxy.logs[0]?.response_flags, 'NC');
  assert.match(proxy.logs[0]?.response_code_details ?? '', /subset "v3" of reviews\.default\.svc\.cluster\.local/);
});

test('direct_response answers without an upstream (502 block_all under REGISTRY_ONLY)', async (t) => {
  const routes = rc([{ name: 'block_all', match: { prefix: '/' }, direct_response: { status: 502 } }]);
  const proxy = await startProxy(routes, []);
  t.after(() => proxy.close());
  const r = await request(proxy.port, { headers: { host: 'unknown.example.com' } });
  assert.equal(r.status, 502);
  await until(() => proxy.logs.length === 1);
  assert.equal(proxy.logs[0]?.route_name, 'block_all');
});

test('header manipulation, rewrites, and the headers Envoy adds', async (t) => {
  const up = await startUpstream((_req, res) => {
    res.setHeader('x-internal', 'secret');
    res.setHeader('x-keep', 'yes');
    res.end('ok');
  });
  t.after(() => up.close());
  const routes = routeConfig({
    name: '80',
    request_headers_to_add: [{ header: { key: 'x-global', value: 'rc' } }],
    virtual_hosts: [
      {
        name: 'v',
        domains: ['*'],
        include_request_attempt_count: true,
        routes: [
          {
            match: { prefix: '/api/' },
            route: { cluster: 'up', prefix_rewrite: '/v2/', host_rewrite_literal: 'backend.internal' },
            request_headers_to_add: [
              { header: { key: 'x-added', value: '100%%' } },
              { header: { key: 'x-replaced', value: 'new' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
            ],
            request_headers_to_remove: ['x-drop'],
            response_headers_to_add: [{ header: { key: 'x-served-by', value: 'sluice' } }],
            response_headers_to_remove: ['x-internal'],
          },
        ],
      },
    ],
  });
  const proxy = await startProxy(routes, [staticCluster('up', [up.endpoint])]);
  t.after(() => proxy.close());
  const r = await request(proxy.port, {
    path: '/api/items?id=1',
    headers: {
      'x-drop': '1',
      'x-replaced': 'old',
      connection: 'keep-alive, x-hop',
      'x-hop': 'h',
      'x-request-id': 'abc',
    },
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-served-by'], 'sluice');
  assert.equal(r.headers['x-internal'], undefined);
  assert.equal(r.headers['x-keep'], 'yes');
  assert.match(String(r.headers['x-envoy-upstream-service-time']), /^\d+$/);
  const seen = up.seen[0]!;
  assert.equal(seen.url, '/v2/items?id=1');
  assert.equal(seen.headers.host, 'backend.internal');
  assert.equal(seen.headers['x-added'], '100%');
  assert.equal(seen.headers['x-replaced'], 'new');
  assert.equal(seen.headers['x-global'], 'rc');
  assert.equal(seen.headers['x-drop'], undefined);
  assert.equal(seen.headers['x-hop'], undefined, 'headers named by Connection are hop-by-hop');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-request-id'], 'abc', 'an incoming request id is kept');
  assert.equal(seen.headers['x-envoy-attempt-count'], '1');
  await request(proxy.port, { path: '/api/x' });
  assert.match(String(up.seen[1]?.headers['x-request-id']), /^[0-9a-f-]{36}$/, 'a request id is generated');
});

test('upstream connections are pooled and reused across downstream connections', async (t) => {
  const up = await echo('pooled');
  t.after(() => up.close());
  const routes = rc([{ match: { prefix: '/' }, route: { cluster: 'up' } }]);
  const proxy = await startProxy(routes, [staticCluster('up', [up.endpoint])]);
  t.after(() => proxy.close());
  for (let i = 0; i < 10; i++) assert.equal((await request(proxy.port)).status, 200);
  assert.equal(up.seen.length, 10);
  assert.equal(up.connections.size, 1, 'ten sequential requests share one upstream connection');
});

test('max_connections bounds concurrent upstream requests; one more gets 503 UO', async (t) => {
  const held: (() => void)[] = [];
  const up = await startUpstream((_req, res) => held.push(() => res.end('ok')));
  t.after(() => up.close());
  const routes = rc([{ match: { prefix: '/' }, route: { cluster: 'up' } }]);
  const cluster = staticCluster('up', [up.endpoint], { circuit_breakers: { thresholds: [{ max_connections: 1 }] } });
  const proxy = await startProxy(routes, [cluster]);
  t.after(() => proxy.close());
  const first = request(proxy.port);
  await until(() => held.length === 1);
  const second = await request(proxy.port);
  assert.equal(second.status, 503);
  assert.match(second.body, /reset reason: overflow/);
  held.shift()?.();
  assert.equal((await first).status, 200);
  const third = request(proxy.port);
  await until(() => held.length === 1);
  held.shift()?.();
  assert.equal((await third).status, 200, 'the slot is given back');
  await until(() => proxy.logs.length === 3);
  assert.equal(proxy.logs.find((l) => l.response_code === 503)?.response_flags, 'UO');
});

test('bytes already read by a protocol sniffer are replayed to the parser', async (t) => {
  const up = await echo('sniffed');
  t.after(() => up.close());
  const routes = rc([{ match: { prefix: '/' }, route: { cluster: 'up' } }]);
  const proxy = await startProxy(routes, [staticCluster('up', [up.endpoint])], undefined, 5);
  t.after(() => proxy.close());
  const r = await request(proxy.port, { path: '/sniff' });
  assert.equal(r.status, 200);
  assert.equal(up.seen[0]?.url, '/sniff');
});
