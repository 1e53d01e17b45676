/**
 * HTTP abuse through the sidecar's L7 path: request smuggling (Content-Length with
 * Transfer-Encoding, conflicting lengths, obs-fold, bad chunk sizes and more), oversized headers,
 * slowloris clients and pipelining, sent on raw sockets to Sluice's real proxy. The upstream is a
 * raw TCP server that records bytes and reads them with an independent strict parser: it must see
 * only well-formed requests, never a smuggled one, and never a request the client did not send.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import { exchange, type HttpSidecar, startHttpSidecar } from './lib/http-sidecar.js';
import { type RecordingUpstream, startRecordingUpstream } from './lib/recording-upstream.js';
import { recordScenario } from './lib/summary.js';

const tally = { requests: 0, bytes: 0, leaks: [] as string[], losses: [] as string[] };

after(() => {
  recordScenario({
    scenario: '2 HTTP abuse through the L7 proxy',
    load: 'raw-socket clients: smuggling table, 80 KiB headers, 40 slowloris, 25-deep pipelines',
    faults: 'CL+TE, duplicate CL, obs-fold, bad chunks, header floods, slow headers',
    requests: tally.requests,
    bytes: tally.bytes,
    leaks: tally.leaks.length,
    losses: tally.losses.length,
  });
});

async function setup(t: {
  after(fn: () => Promise<void>): void;
}): Promise<{ up: RecordingUpstream; sidecar: HttpSidecar }> {
  const up = await startRecordingUpstream();
  t.after(() => up.close());
  const sidecar = await startHttpSidecar(up.port);
  t.after(() => sidecar.close());
  return { up, sidecar };
}

/** What the upstream got that it must not have: malformed streams and smuggled requests. */
function upstreamLeaks(up: RecordingUpstream, what: string): string[] {
  const found: string[] = [];
  for (const c of up.connections)
    if (c.malformed) found.push(`${what}: the upstream received malformed bytes (${c.malformed})`);
  for (const r of up.requests())
    if (r.target.includes('smuggled')) found.push(`${what}: the smuggled request ${r.target} reached the upstream`);
  return found;
}

async function send(port: number, bytes: string, waitMs = 3000): Promise<string> {
  tally.requests++;
  tally.bytes += bytes.length;
  return exchange(port, bytes, waitMs);
}

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: reviews\r\n\r\n';

/** Requests no strict proxy may forward: each must be answered with an error and go nowhere. */
const MALFORMED: [string, string][] = [
  [
    'Content-Length and Transfer-Encoding',
    `POST /a HTTP/1.1\r\nHost: reviews\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'Transfer-Encoding then Content-Length',
    `POST /a HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\nContent-Length: 43\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'two different Content-Length headers',
    `POST /a HTTP/1.1\r\nHost: reviews\r\nContent-Length: 4\r\nContent-Length: 43\r\n\r\nabcd${SMUGGLED}`,
  ],
  [
    'a Content-Length list of different values',
    `POST /a HTTP/1.1\r\nHost: reviews\r\nContent-Length: 4, 43\r\n\r\nabcd${SMUGGLED}`,
  ],
  ['a signed Content-Length', `POST /a HTTP/1.1\r\nHost: reviews\r\nContent-Length: +4\r\n\r\nabcd${SMUGGLED}`],
  ['a negative Content-Length', `POST /a HTTP/1.1\r\nHost: reviews\r\nContent-Length: -1\r\n\r\n${SMUGGLED}`],
  ['an obs-fold continuation line', `GET /a HTTP/1.1\r\nHost: reviews\r\nX-Folded: one\r\n two\r\n\r\n`],
  [
    'an obs-folded Transfer-Encoding',
    `POST /a HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 4\r\n\r\nabcd`,
  ],
  [
    'a chunk size that is not hex',
    `POST /a HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'a chunk size that overflows 64 bits',
    `POST /a HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\nhello\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'a 0x-prefixed chunk size',
    `POST /a HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'a chunk without its CRLF',
    `POST /a HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'Transfer-Encoding: chunked, identity',
    `POST /a HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'Transfer-Encoding: xchunked',
    `POST /a HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'whitespace before the colon',
    `POST /a HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\nabcd`,
  ],
  ['bare LF line endings', `GET /a HTTP/1.1\nHost: reviews\n\n`],
  ['a bare CR inside a header value', `GET /a HTTP/1.1\r\nHost: reviews\r\nX-A: b\rX-Smuggled: yes\r\n\r\n`],
  ['a NUL in a header value', `GET /a HTTP/1.1\r\nHost: reviews\r\nX-A: b\x00c\r\n\r\n`],
  ['an HTTP/1.1 request without Host', `GET /a HTTP/1.1\r\n\r\n`],
  ['two Host headers', `GET /a HTTP/1.1\r\nHost: reviews\r\nHost: ratings\r\n\r\n`],
  ['an invalid method token', `G(E)T /a HTTP/1.1\r\nHost: reviews\r\n\r\n`],
];

test('smuggling and malformed framing: answered with an HTTP error, nothing reaches the upstream', async (t) => {
  const { up, sidecar } = await setup(t);
  const problems: string[] = [];
  for (const [name, bytes] of MALFORMED) {
    const reply = await send(sidecar.port, bytes, 2000);
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(reply)?.[1] ?? 0);
    if (status < 400) problems.push(`${name}: expected an HTTP error, got ${reply.slice(0, 60) || '(nothing)'}`);
    if (reply.includes('served ')) {
      problems.push(
        `${name}: the upstream answered (${reply.slice(reply.indexOf('served '), reply.indexOf('served ') + 30)})`,
      );
      tally.leaks.push(`${name}: forwarded`);
    }
  }
  const leaks = upstreamLeaks(up, 'malformed table');
  tally.leaks.push(...leaks);
  problems.push(...leaks);
  const forwarded = up.requests().map((r) => r.target);
  if (forwarded.length > 0) problems.push(`the upstream received requests: ${forwarded.join(', ')}`);
  assert.deepEqual(problems, []);
});

test('a body that looks like a request is forwarded as a body, framed exactly as sent', async (t) => {
  const { up, sidecar } = await setup(t);
  const cl = await send(
    sidecar.port,
    `POST /cl HTTP/1.1\r\nHost: reviews\r\nContent-Length: ${SMUGGLED.length}\r\nConnection: close\r\n\r\n${SMUGGLED}`,
  );
  const chunkedBody = `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`;
  const te = await send(
    sidecar.port,
    `POST /te HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunkedBody}`,
  );
  for (const [what, reply] of [
    ['Content-Length', cl],
    ['chunked', te],
  ] as const)
    if (!/^HTTP\/1\.1 200 /.test(reply)) tally.losses.push(`${what} body request unanswered: ${reply.slice(0, 60)}`);
  const leaks = upstreamLeaks(up, 'bodies');
  tally.leaks.push(...leaks);
  assert.match(cl, /^HTTP\/1\.1 200 [\s\S]*served \/cl$/);
  assert.match(te, /^HTTP\/1\.1 200 [\s\S]*served \/te$/);
  assert.deepEqual(leaks, []);
  const got = up.requests();
  assert.deepEqual(
    got.map((r) => [r.target, r.body.toString('latin1')]),
    [
      ['/cl', SMUGGLED],
      ['/te', SMUGGLED],
    ],
  );
});

test('oversized headers are refused with 431; a header flood is refused or forwarded whole, never truncated', async (t) => {
  const { up, sidecar } = await setup(t);
  const problems: string[] = [];
  const big = await send(sidecar.port, `GET /big HTTP/1.1\r\nHost: reviews\r\nX-Big: ${'a'.repeat(80 * 1024)}\r\n\r\n`);
  if (!/^HTTP\/1\.1 431 /.test(big))
    problems.push(`an 80 KiB header: expected 431, got ${big.slice(0, 60) || '(nothing)'}`);
  const many = Array.from({ length: 1000 }, (_, i) => `X-H${i}: ${'b'.repeat(70)}\r\n`).join('');
  const sum = await send(sidecar.port, `GET /sum HTTP/1.1\r\nHost: reviews\r\n${many}\r\n`);
  if (!/^HTTP\/1\.1 431 /.test(sum))
    problems.push(`1,000 headers of 80 KiB in all: expected 431, got ${sum.slice(0, 60) || '(nothing)'}`);
  const longUrl = await send(sidecar.port, `GET /${'u'.repeat(70 * 1024)} HTTP/1.1\r\nHost: reviews\r\n\r\n`);
  if (!/^HTTP\/1\.1 (414|431) /.test(longUrl))
    problems.push(`a 70 KiB request target: expected 414 or 431, got ${longUrl.slice(0, 60) || '(nothing)'}`);
  // 3,000 small headers fit the byte limit; the last one matters to the upstream.
  const flood = Array.from({ length: 3000 }, (_, i) => `X-F${i}: v\r\n`).join('');
  const floodReply = await send(
    sidecar.port,
    `GET /flood HTTP/1.1\r\nHost: reviews\r\n${flood}X-Last: must-arrive\r\nConnection: close\r\n\r\n`,
  );
  const forwarded = up.requests().find((r) => r.target === '/flood');
  if (forwarded) {
    const names = new Set(forwarded.headers.map(([k]) => k));
    const missing = [...Array.from({ length: 3000 }, (_, i) => `x-f${i}`), 'x-last'].filter((n) => !names.has(n));
    if (missing.length > 0) {
      tally.leaks.push('header flood forwarded truncated');
      problems.push(
        `3,000 headers: forwarded without ${missing.length} of them (first missing ${missing[0]}, x-last ${names.has('x-last') ? 'kept' : 'dropped'}) and answered ${floodReply.slice(0, 15)}`,
      );
    }
  } else if (!/^HTTP\/1\.1 431 /.test(floodReply)) {
    problems.push(`3,000 headers: neither forwarded nor refused with 431: ${floodReply.slice(0, 60) || '(nothing)'}`);
  }
  const leaks = upstreamLeaks(up, 'oversized headers');
  tally.leaks.push(...leaks);
  problems.push(...leaks);
  const unexpected = up.requests().filter((r) => r.target !== '/flood');
  if (unexpected.length) problems.push(`forwarded: ${unexpected.map((r) => r.target.slice(0, 30)).join(', ')}`);
  assert.deepEqual(problems, []);
});

test('slowloris: 40 clients dribbling headers are cut off, and meanwhile good requests are served', async (t) => {
  const { up, sidecar } = await setup(t);
  const SLOW = 40;
  const headers = `GET /slow HTTP/1.1\r\nHost: reviews\r\n${'X-Slow: drip\r\n'.repeat(100)}\r\n`;
  const started = Date.now();
  const slow = Array.from({ length: SLOW }, () => {
    const socket = net.connect(sidecar.port, '127.0.0.1');
    let reply = '';
    let sent = 0;
    socket.on('data', (d: Buffer) => {
      reply += d.toString('latin1');
    });
    socket.on('error', () => {});
    const drip = setInterval(() => {
      if (sent < headers.length && !socket.destroyed) socket.write(headers[sent++]!);
    }, 250);
    const closed = new Promise<{ reply: string; ms: number; sent: number }>((resolve) =>
      socket.on('close', () => {
        clearInterval(drip);
        resolve({ reply, ms: Date.now() - started, sent });
      }),
    );
    t.after(() => {
      clearInterval(drip);
      socket.destroy();
    });
    return closed;
  });
  tally.requests += SLOW;
  // Good requests while the slow clients hold their connections.
  const good: string[] = [];
  for (let i = 0; i < 20; i++) {
    good.push(await send(sidecar.port, `GET /good-${i} HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n`));
    await new Promise((r) => setTimeout(r, 100));
  }
  const goodServed = good.filter((r, i) => r.startsWith('HTTP/1.1 200 ') && r.endsWith(`served /good-${i}`)).length;
  for (let i = goodServed; i < good.length; i++) tally.losses.push('good request during slowloris not served');
  // The proxy's headers timeout (10 s, as Envoy's default) must close every slow client.
  const bound = 16_000;
  const outcome = await Promise.race([
    Promise.all(slow),
    new Promise<undefined>((r) => setTimeout(() => r(undefined), bound - (Date.now() - started))),
  ]);
  assert.equal(goodServed, 20, 'every good request was served during the attack');
  assert.ok(outcome, `all ${SLOW} slow clients were disconnected within ${bound / 1000} s`);
  for (const o of outcome) {
    assert.ok(o.sent < headers.length, 'cut off before the headers were complete');
    assert.ok(o.reply === '' || /^HTTP\/1\.1 408 /.test(o.reply), `a slow client got ${o.reply.slice(0, 40)}`);
  }
  const leaks = upstreamLeaks(up, 'slowloris');
  tally.leaks.push(...leaks);
  assert.deepEqual(leaks, []);
  assert.deepEqual(
    up.requests().filter((r) => r.target === '/slow'),
    [],
    'no slow request reached the upstream',
  );
});

/** Request i of a pipeline: a Content-Length POST, a chunked POST or a GET, in turn. */
const req = (i: number, last = false): string =>
  i % 3 === 0
    ? `POST /p${i} HTTP/1.1\r\nHost: reviews\r\nContent-Length: 5\r\n${last ? 'Connection: close\r\n' : ''}\r\nbody${i % 10}`
    : i % 3 === 1
      ? `POST /p${i} HTTP/1.1\r\nHost: reviews\r\nTransfer-Encoding: chunked\r\n${last ? 'Connection: close\r\n' : ''}\r\n3\r\nabc\r\n0\r\n\r\n`
      : `GET /p${i} HTTP/1.1\r\nHost: reviews\r\n${last ? 'Connection: close\r\n' : ''}\r\n`;

test('pipelining: 25 requests in one write are answered in order, bodies intact', async (t) => {
  const { up, sidecar } = await setup(t);
  const N = 25;
  const reply = await send(sidecar.port, Array.from({ length: N }, (_, i) => req(i, i === N - 1)).join(''), 8000);
  tally.requests += N - 1;
  const served = [...reply.matchAll(/served (\/p\d+)/g)].map((m) => m[1]!);
  const want = Array.from({ length: N }, (_, i) => `/p${i}`);
  for (const p of want) if (!served.includes(p)) tally.losses.push(`pipelined ${p} unanswered`);
  assert.deepEqual(served, want, 'answered in order');
  const seen = up.requests().map((r) => [r.target, r.body.toString()]);
  assert.deepEqual(
    seen,
    want.map((p, i) => [p, i % 3 === 0 ? `body${i % 10}` : i % 3 === 1 ? 'abc' : '']),
    'the upstream got every request, bodies intact',
  );
});

test('pipelining: a smuggling attempt as the 6th request gets 400 after the 5 before it are answered; nothing after it is forwarded', async (t) => {
  const { up, sidecar } = await setup(t);
  const bad = `POST /p5 HTTP/1.1\r\nHost: reviews\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`;
  const mixed = [0, 1, 2, 3, 4].map((i) => req(i)).join('') + bad + [6, 7].map((i) => req(i)).join('');
  const reply2 = await send(sidecar.port, mixed, 5000);
  tally.requests += 7;
  const served2 = [...reply2.matchAll(/served (\/p\d+)/g)].map((m) => m[1]!);
  const after2 = up.requests().map((r) => r.target);
  const leaks = upstreamLeaks(up, 'pipelining');
  tally.leaks.push(
    ...leaks,
    ...after2
      .filter((p) => ['/p5', '/p6', '/p7'].includes(p))
      .map((p) => `pipelined ${p} forwarded after the bad request`),
  );
  for (const p of ['/p0', '/p1', '/p2', '/p3', '/p4'])
    if (!served2.includes(p)) tally.losses.push(`pipelined ${p} before the bad one unanswered`);
  assert.deepEqual(served2, ['/p0', '/p1', '/p2', '/p3', '/p4'], 'the requests before the bad one are answered');
  assert.match(reply2.slice(reply2.lastIndexOf('HTTP/1.1 ')), /^HTTP\/1\.1 400 /, 'the bad one gets 400');
  assert.deepEqual(after2, ['/p0', '/p1', '/p2', '/p3', '/p4'], 'nothing after the bad request reached the upstream');
  assert.deepEqual(leaks, []);
});
