/**
 * Request heads the proxy refuses before routing (header count, Host rules of RFC 9112 §3.2), and
 * the header count of upstream responses: never truncated, refused whole. Pure checks first, then
 * the same through the real hand-off with raw sockets.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRequestHead, DEFAULT_MAX_HEADERS_COUNT } from './request-head.js';
import { rawExchange, request, startProxy, startUpstream, staticCluster, until } from './test-harness.js';

const head = (httpVersion: string, ...pairs: [string, string][]) => ({ httpVersion, rawHeaders: pairs.flat() });

test('Host: exactly one valid Host line on HTTP/1.1; HTTP/1.0 may omit it but not repeat it', () => {
  assert.equal(checkRequestHead(head('1.1', ['Host', 'reviews:9080']), 100), undefined);
  assert.equal(checkRequestHead(head('1.1', ['host', '[::1]:80']), 100), undefined);
  assert.equal(checkRequestHead(head('1.1', ['Host', '']), 100), undefined, 'an empty Host is allowed');
  assert.equal(checkRequestHead(head('1.0'), 100), undefined);
  assert.equal(checkRequestHead(head('1.1'), 100)?.details, 'missing_host_header');
  const two = checkRequestHead(head('1.1', ['Host', 'reviews'], ['HOST', 'ratings']), 100);
  assert.equal(two?.status, 400);
  assert.equal(two?.details, 'multiple_host_headers');
  assert.equal(checkRequestHead(head('1.0', ['Host', 'a'], ['Host', 'a']), 100)?.details, 'multiple_host_headers');
  for (const bad of ['a b', 'a/b', 'user@host', 'a:80x', '[::1', 'a,b\\c'])
    assert.equal(checkRequestHead(head('1.1', ['Host', bad]), 100)?.details, 'invalid_host_header', bad);
});

test('more header lines than the limit: 431, counting every line (repeated names too)', () => {
  const lines = (n: number): [string, string][] => [
    ['Host', 'a'],
    ...Array.from({ length: n - 1 }, (): [string, string] => ['X-Same', 'v']),
  ];
  assert.equal(checkRequestHead(head('1.1', ...lines(100)), 100), undefined);
  const over = checkRequestHead(head('1.1', ...lines(101)), 100);
  assert.equal(over?.status, 431);
  assert.equal(over?.details, 'http1.too_many_headers');
  assert.equal(DEFAULT_MAX_HEADERS_COUNT, 100, "Envoy's max_headers_count");
});

async function echoProxy(t: import('node:test').TestContext, limits = {}) {
  const up = await startUpstream((req, res) => res.end(`served ${req.url}`));
  t.after(() => up.close());
  const routes = {
    name: '80',
    virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'up' } }] }],
  };
  const proxy = await startProxy(routes, [staticCluster('up', [up.endpoint])], limits);
  t.after(() => proxy.close());
  return { up, proxy };
}

test('two Host headers get 400 and are never forwarded', async (t) => {
  const { up, proxy } = await echoProxy(t);
  const reply = await rawExchange(proxy.port, 'GET /a HTTP/1.1\r\nHost: reviews\r\nHost: ratings\r\n\r\n');
  assert.match(reply, /^HTTP\/1\.1 400 /);
  assert.match(reply, /connection: close/i);
  await until(() => proxy.logs.length > 0);
  assert.equal(up.seen.length, 0);
  assert.equal(proxy.logs[0]?.response_flags, 'DPE');
  assert.equal(proxy.logs[0]?.response_code_details, 'multiple_host_headers');
});

test('3,000 small headers are refused with 431, not forwarded without the last ~2,000', async (t) => {
  const { up, proxy } = await echoProxy(t);
  const flood = Array.from({ length: 3000 }, (_, i) => `X-F${i}: v\r\n`).join('');
  const reply = await rawExchange(proxy.port, `GET /flood HTTP/1.1\r\nHost: a\r\n${flood}X-Last: 1\r\n\r\n`);
  assert.match(reply, /^HTTP\/1\.1 431 /);
  await until(() => proxy.logs.length > 0);
  assert.equal(up.seen.length, 0);
  assert.equal(proxy.logs[0]?.response_code_details, 'http1.too_many_headers');
});

test('a request at a raised limit (1,500 headers) reaches the upstream with every header, the last included', async (t) => {
  const { up, proxy } = await echoProxy(t, { maxHeadersCount: 1600 });
  const many = Array.from({ length: 1500 }, (_, i) => `X-F${i}: v${i}\r\n`).join('');
  const reply = await rawExchange(
    proxy.port,
    `GET /many HTTP/1.1\r\nHost: a\r\n${many}X-Last: must-arrive\r\nConnection: close\r\n\r\n`,
  );
  assert.match(reply, /^HTTP\/1\.1 200 /);
  const seen = up.seen[0];
  assert.ok(seen);
  assert.equal(seen.headers['x-last'], 'must-arrive');
  assert.equal(seen.headers['x-f1499'], 'v1499');
  assert.equal(seen.rawHeaders.filter((_, i) => i % 2 === 0 && /^x-f\d+$/i.test(seen.rawHeaders[i]!)).length, 1500);
});

test('an upstream response with more headers than the limit is never relayed truncated: 502 UPE', async (t) => {
  const up = await startUpstream((req, res) => {
    const n = Number(req.url?.slice(1));
    for (let i = 0; i < n; i++) res.setHeader(`r${i}`, 'v');
    res.end('body');
  });
  t.after(() => up.close());
  const routes = {
    name: '80',
    virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'up' } }] }],
  };
  const proxy = await startProxy(routes, [staticCluster('up', [up.endpoint])]);
  t.after(() => proxy.close());
  const many = await request(proxy.port, { path: '/150', headers: { host: 'a' } });
  assert.equal(many.status, 502);
  assert.match(many.body, /reset reason: protocol error$/);
  assert.equal(many.headers.r0, undefined, 'nothing of the refused response is relayed');
  const few = await request(proxy.port, { path: '/90', headers: { host: 'a' } });
  assert.equal(few.status, 200);
  assert.equal(few.headers.r89, 'v');
  await until(() => proxy.logs.length === 2);
  assert.equal(proxy.logs[0]?.response_flags, 'UPE');
  assert.equal(proxy.logs[0]?.response_code_details, 'upstream_reset_before_response_started{protocol_error}');

  // with the limit raised past Node's own (about 1,000), every response header is relayed
  const raised = await startProxy(routes, [staticCluster('up', [up.endpoint])], { maxHeadersCount: 1600 });
  t.after(() => raised.close());
  const all = await rawExchange(raised.port, 'GET /1200 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.match(all, /^HTTP\/1\.1 200 /);
  assert.equal([...all.matchAll(/^r\d+: v\r$/gm)].length, 1200);
  assert.match(all, /^r1199: v\r$/m);
});
