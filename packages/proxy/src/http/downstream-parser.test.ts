/**
 * What reaches an upstream is only ever a well-formed request: smuggling attempts and malformed
 * framing are answered 400 by the proxy and never forwarded. Raw sockets on both sides.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawExchange, startProxy, startUpstream, staticCluster, until } from './test-harness.js';

async function setup(t: import('node:test').TestContext, limits = {}) {
  const up = await startUpstream((req, res) => {
    const delay = req.url === '/slow' ? 150 : 0;
    setTimeout(() => res.end(`served ${req.url}`), delay);
  });
  t.after(() => up.close());
  const routes = {
    name: '80',
    virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'up' } }] }],
  };
  const proxy = await startProxy(routes, [staticCluster('up', [up.endpoint])], limits);
  t.after(() => proxy.close());
  return { up, proxy };
}

const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n';

const malformed: [string, string][] = [
  [
    'Content-Length together with Transfer-Encoding',
    `POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
  ],
  [
    'two different Content-Length values',
    `POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 43\r\n\r\nabcd${smuggled}`,
  ],
  ['a folded header line (obs-fold)', `GET /x HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n`],
  [
    'an invalid chunk size',
    `POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n${smuggled}`,
  ],
  [
    'a chunk size that overflows',
    `POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nhello\r\n0\r\n\r\n`,
  ],
  [
    'a Transfer-Encoding that does not end in chunked',
    `POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n${smuggled}`,
  ],
  ['whitespace between a header name and the colon', `POST /x HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello`],
  ['an HTTP/1.1 request without Host', 'GET /x HTTP/1.1\r\n\r\n'],
  [
    'a chunk not followed by CRLF',
    `POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n`,
  ],
];

for (const [name, bytes] of malformed) {
  test(`rejected with 400 and never forwarded: ${name}`, async (t) => {
    const { up, proxy } = await setup(t);
    const reply = await rawExchange(proxy.port, bytes);
    assert.match(reply, /^HTTP\/1\.1 400 /);
    assert.doesNotMatch(reply, /served/);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      up.seen.map((s) => s.url),
      [],
    );
    await until(() => proxy.logs.length > 0);
    assert.equal(proxy.logs[0]?.response_code, 400);
    assert.equal(proxy.logs[0]?.response_flags, 'DPE');
  });
}

test('a well-formed chunked body is forwarded intact', async (t) => {
  const { up, proxy } = await setup(t);
  const reply = await rawExchange(
    proxy.port,
    'POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  );
  assert.match(reply, /^HTTP\/1\.1 200 /);
  assert.equal(up.seen[0]?.body, 'hello world');
  assert.equal(up.seen[0]?.headers['content-length'], '11');
  assert.equal(up.seen[0]?.headers['transfer-encoding'], undefined);
});

test('oversized request headers get 431', async (t) => {
  const { up, proxy } = await setup(t, { maxHeaderBytes: 4096 });
  const reply = await rawExchange(proxy.port, `GET /x HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`);
  assert.match(reply, /^HTTP\/1\.1 431 /);
  assert.equal(up.seen.length, 0);
});

test('a client that never finishes its headers is cut off by the headers timeout (slowloris)', async (t) => {
  const { up, proxy } = await setup(t, { headersTimeoutMs: 300, requestTimeoutMs: 300 });
  const reply = await rawExchange(proxy.port, 'GET /x HTTP/1.1\r\nHost: a\r\nX-Slow: ', 5000);
  assert.match(reply, /^HTTP\/1\.1 408 /, 'the connection is answered 408 and closed before the bounded wait ends');
  assert.equal(up.seen.length, 0);
});

test('pipelined requests are answered in order on one connection', async (t) => {
  const { up, proxy } = await setup(t);
  const reply = await rawExchange(
    proxy.port,
    'GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /fast HTTP/1.1\r\nHost: a\r\n\r\nGET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
  );
  const bodies = [...reply.matchAll(/served (\/[a-z]+)/g)].map((m) => m[1]);
  assert.deepEqual(bodies, ['/slow', '/fast', '/last']);
  assert.equal(up.seen.length, 3);
});

test('a keep-alive connection serves several requests', async (t) => {
  const { proxy } = await setup(t);
  const reply = await rawExchange(
    proxy.port,
    'GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
  );
  assert.equal([...reply.matchAll(/HTTP\/1\.1 200 /g)].length, 2);
});

test('pipelined good requests before a smuggling attempt are answered in order, then 400, then close', async (t) => {
  const { up, proxy } = await setup(t);
  const good = ['/p0', '/slow', '/p2'].map((p) => `GET ${p} HTTP/1.1\r\nHost: a\r\n\r\n`).join('');
  const bad = `POST /bad HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`;
  const after = 'GET /after HTTP/1.1\r\nHost: a\r\n\r\n';
  const reply = await rawExchange(proxy.port, good + bad + after);
  const statuses = [...reply.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
  assert.deepEqual(statuses, ['200', '200', '200', '400'], reply);
  assert.deepEqual(
    [...reply.matchAll(/served (\/[a-z0-9]+)/g)].map((m) => m[1]),
    ['/p0', '/slow', '/p2'],
  );
  assert.deepEqual(
    up.seen.map((s) => s.url),
    ['/p0', '/slow', '/p2'],
    'nothing after the bad request was forwarded',
  );
  await until(() => proxy.logs.length === 4);
  assert.deepEqual(
    proxy.logs.map((l) => [l.response_code, l.response_flags]),
    [
      [200, '-'],
      [200, '-'],
      [200, '-'],
      [400, 'DPE'],
    ],
  );
});

test('a pipelined request whose body is malformed gets 400 after the answers owed before it', async (t) => {
  const { up, proxy } = await setup(t);
  const good = 'GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /p1 HTTP/1.1\r\nHost: a\r\n\r\n';
  const bad = `POST /bad HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n${smuggled}`;
  const reply = await rawExchange(proxy.port, good + bad);
  const statuses = [...reply.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
  assert.deepEqual(statuses, ['200', '200', '400'], reply);
  assert.deepEqual(
    up.seen.map((s) => s.url),
    ['/slow', '/p1'],
  );
});

test('a header flood in a pipeline: the request before it is answered, the flood gets 431', async (t) => {
  const { up, proxy } = await setup(t, { maxHeaderBytes: 4096 });
  const reply = await rawExchange(
    proxy.port,
    `GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /big HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`,
  );
  const statuses = [...reply.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
  assert.deepEqual(statuses, ['200', '431'], reply);
  assert.deepEqual(
    up.seen.map((s) => s.url),
    ['/slow'],
  );
});
