/**
 * Hostile requests against a real ApiServer over HTTPS: each gets a Kubernetes Status error, stores
 * nothing, and the server keeps serving.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type ApiReply, type ApiTestServer, startApiTestServer } from './api-test-server.js';

const ISTIO = '/apis/networking.istio.io/v1beta1';
const SE_PATH = `${ISTIO}/namespaces/default/serviceentries`;

let api: ApiTestServer;

const se = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'networking.istio.io/v1beta1',
  kind: 'ServiceEntry',
  metadata: { name },
  spec: {
    hosts: [`${name}.example.com`],
    addresses: ['10.233.91.10/32'],
    ports: [{ name: 'tcp', number: 3306, protocol: 'TCP' }],
    location: 'MESH_EXTERNAL',
    resolution: 'NONE',
    ...extra,
  },
});

/** `namespace/name` of every ServiceEntry stored, across namespaces. */
async function storedNames(): Promise<string[]> {
  const r = await api.request('GET', `${ISTIO}/serviceentries`);
  assert.equal(r.status, 200, r.text);
  return (r.json.items as { metadata: { namespace: string; name: string } }[])
    .map((o) => `${o.metadata.namespace}/${o.metadata.name}`)
    .sort();
}

function assertStatus(r: ApiReply, code: number, message: RegExp, what: string): void {
  assert.equal(r.status, code, `${what}: ${r.text.slice(0, 300)}`);
  assert.equal(r.json?.kind, 'Status', what);
  assert.equal(r.json.status, 'Failure', what);
  assert.equal(r.json.code, code, what);
  assert.match(r.json.message, message, what);
}

before(async () => {
  api = await startApiTestServer();
  for (const [ns, name] of [
    ['default', 'keep-a'],
    ['prod', 'keep-b'],
  ] as const) {
    const r = await api.request('POST', `${ISTIO}/namespaces/${ns}/serviceentries`, { body: JSON.stringify(se(name)) });
    assert.equal(r.status, 201, r.text);
  }
});

after(() => api?.close());

const KEPT = ['default/keep-a', 'prod/keep-b'];

test('dot-segments, empty segments, encoded slashes and NUL in a path are 400 and act on nothing', async () => {
  for (const [i, ns] of ['..', '%2e%2e', '%2E%2e', '.%2e', '.', '%2e'].entries()) {
    const path = `${ISTIO}/namespaces/${ns}/serviceentries`;
    const post = await api.request('POST', path, { body: JSON.stringify(se(`traversal-${i}`)) });
    assertStatus(post, 400, /segment 5 .* is a dot-segment/, `POST in namespace ${ns}`);
    const del = await api.request('DELETE', `${path}?dryRun=All`);
    assertStatus(del, 400, /dot-segment/, `DELETE the collection in namespace ${ns}`);
  }
  const refusedPaths: [string, RegExp][] = [
    [`${SE_PATH}/..`, /dot-segment/],
    [`${SE_PATH}//keep-a`, /segment 7 is empty/],
    [`${ISTIO}/namespaces/prod%2f..%2fdefault/serviceentries`, /encoded "\/"/],
    [`${SE_PATH}/keep-a%00`, /NUL/],
    [`${SE_PATH}/keep-a/%2e%2e/%2e%2e/prod`, /dot-segment/],
  ];
  for (const [path, message] of refusedPaths)
    for (const method of ['GET', 'DELETE'])
      assertStatus(await api.request(method, path), 400, message, `${method} ${path}`);
  // Names no object can have are NotFound, as in Kubernetes; a namespace that is no DNS-1123 label is 400.
  assertStatus(await api.request('GET', `${SE_PATH}/Keep_A`), 404, /"Keep_A" not found/, 'GET an invalid name');
  assertStatus(
    await api.request('POST', `${ISTIO}/namespaces/Prod/serviceentries`, { body: JSON.stringify(se('upper')) }),
    400,
    /namespace in the request path is invalid: .*RFC 1123 label/,
    'POST in an invalid namespace',
  );
  assert.deepEqual(await storedNames(), KEPT, 'nothing was created or deleted');
  assert.equal((await api.request('GET', `${SE_PATH}/keep-a/`)).status, 200, 'a trailing slash is still fine');
});

test('malformed percent-encoding in the path is 400, not 500', async () => {
  for (const seg of ['%E0%A4%A', '%ZZ', 'keep-a%', '%C0%AF'])
    assertStatus(
      await api.request('GET', `${SE_PATH}/${seg}`),
      400,
      /not valid percent-encoding/,
      `GET name segment ${seg}`,
    );
  assert.equal((await api.request('GET', `${SE_PATH}/keep-a`)).status, 200, 'the server still serves');
});

/** `text` with `marker` replaced by raw bytes, and the byte offset where they start. */
function withBytes(text: string, marker: string, bytes: number[]): { body: Buffer; at: number } {
  const buf = Buffer.from(text);
  const at = buf.indexOf(marker);
  return { body: Buffer.concat([buf.subarray(0, at), Buffer.from(bytes), buf.subarray(at + marker.length)]), at };
}

test('invalid UTF-8 in a body is 400 naming the byte offset; valid multi-byte text is stored intact', async () => {
  const annotated = (name: string, note: string) => ({ ...se(name), metadata: { name, annotations: { note } } });
  const cases: [string, number[], string][] = [
    ['a stray continuation byte', [0xc3, 0x28], 'application/json'],
    ['an overlong "/"', [0xc0, 0xaf], 'application/json'],
    ['an encoded lone surrogate', [0xed, 0xa0, 0x80], 'application/yaml'],
    ['a truncated sequence at the end of a value', [0xe2, 0x82], 'application/json'],
  ];
  for (const [what, bytes, contentType] of cases) {
    const text = JSON.stringify(annotated('utf8-bad', 'MARK'));
    const { body, at } = withBytes(text, 'MARK', bytes);
    const r = await api.request('POST', SE_PATH, { body, contentType });
    assertStatus(r, 400, new RegExp(`not valid UTF-8: .*byte offset ${at} `), what);
  }
  assert.deepEqual(await storedNames(), KEPT, 'nothing was stored');
  const note = 'café ✓ 😀 \u{10FFFF}';
  const ok = await api.request('POST', SE_PATH, { body: JSON.stringify(annotated('utf8-good', note)) });
  assert.equal(ok.status, 201, ok.text);
  const back = await api.request('GET', `${SE_PATH}/utf8-good`);
  assert.equal(back.json.metadata.annotations.note, note);
  assert.equal((await api.request('DELETE', `${SE_PATH}/utf8-good`)).status, 200);
});

test('100,000 levels of nesting in a body, a merge patch or a JSON patch are refused before anything recursive runs', async () => {
  const n = 100_000;
  const deepArrays = '['.repeat(n) + ']'.repeat(n);
  const deepObjects = '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const obj = JSON.stringify(se('deep'));
  const bodies: [string, string, string, string][] = [
    ['deep arrays inside spec', 'POST', SE_PATH, obj.replace('"location"', `"extra":${deepArrays},"location"`)],
    [
      'deep objects in labels',
      'POST',
      SE_PATH,
      obj.replace('"metadata":{', `"metadata":{"labels":{"a":${deepObjects}},`),
    ],
    [
      'deep arrays in a replace',
      'PUT',
      `${SE_PATH}/keep-a`,
      obj.replace('"location"', `"extra":${deepArrays},"location"`),
    ],
  ];
  for (const [what, method, path, body] of bodies)
    assertStatus(await api.request(method, path, { body }), 400, /more than 100 levels deep \(at /, what);
  assertStatus(
    await api.request('PATCH', `${SE_PATH}/keep-a`, {
      body: `{"spec":{"extra":${deepArrays}}}`,
      contentType: 'application/merge-patch+json',
    }),
    400,
    /more than 100 levels deep \(at spec\.extra\[0\]/,
    'a deep merge patch',
  );
  assertStatus(
    await api.request('POST', SE_PATH, { body: deepArrays, contentType: 'application/yaml' }),
    400,
    /more than 100 levels deep \(at line 1, column 101\)/,
    'deep YAML',
  );
  // A JSON patch whose operations are each shallow but nest deeper and deeper together.
  const level = `[${'['.repeat(60)}${']'.repeat(60)}]`;
  const ops = [
    { op: 'add', path: '/spec/extra', value: JSON.parse(level) },
    { op: 'add', path: `/spec/extra${'/0'.repeat(60)}/-`, value: JSON.parse(level) },
  ];
  assertStatus(
    await api.request('PATCH', `${SE_PATH}/keep-a`, {
      body: JSON.stringify(ops),
      contentType: 'application/json-patch+json',
    }),
    422,
    /would nest the object more than 100 levels deep/,
    'a JSON patch nesting step by step',
  );
  // Copying the object into itself doubles it with every operation.
  const copies = Array.from({ length: 40 }, () => ({ op: 'copy', from: '/spec', path: '/spec/ports/-' }));
  assertStatus(
    await api.request('PATCH', `${SE_PATH}/keep-a`, {
      body: JSON.stringify(copies),
      contentType: 'application/json-patch+json',
    }),
    400,
    /copy operations duplicate more than/,
    'a JSON patch copying the object into itself 40 times',
  );
  assert.deepEqual(await storedNames(), KEPT, 'nothing was stored');
  const kept = await api.request('GET', `${SE_PATH}/keep-a`);
  assert.equal(kept.json.metadata.generation, 1, 'keep-a was not changed');
});

/**
 * Posts a `total`-byte body over a raw TLS connection, writing until the server answers or closes.
 * Returns what the server answered and how much of the body was written before that.
 */
async function oversizedPost(
  total: number,
  chunked: boolean,
): Promise<{ answer: string; sent: number; closed: boolean }> {
  const socket = await api.connect();
  let answer = '';
  socket.on('data', (d: Buffer) => {
    answer += d.toString('latin1');
  });
  socket.on('error', () => {});
  let closed = false;
  const onClose = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true;
      resolve();
    }),
  );
  socket.write(
    `POST ${SE_PATH} HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${api.token}\r\n` +
      `content-type: application/json\r\n${chunked ? 'transfer-encoding: chunked' : `content-length: ${total}`}\r\n\r\n`,
  );
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const framed = chunked ? Buffer.concat([Buffer.from('10000\r\n'), chunk, Buffer.from('\r\n')]) : chunk;
  let sent = 0;
  while (sent < total && !socket.destroyed && answer === '') {
    sent += chunk.length;
    if (!socket.write(framed)) await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), onClose]);
  }
  if (!socket.destroyed) socket.end();
  const waited = setTimeout(() => socket.destroy(), 10_000);
  await onClose;
  clearTimeout(waited);
  return { answer, sent, closed };
}

test('a body over the limit gets a 413 Status every client can read, and the connection is then closed', {
  timeout: 60_000,
}, async () => {
  const total = 64 * 1024 * 1024;
  for (const chunked of [false, true])
    for (let attempt = 0; attempt < 4; attempt++) {
      const what = `${chunked ? 'chunked' : 'Content-Length'} attempt ${attempt + 1}`;
      const { answer, sent } = await oversizedPost(total, chunked);
      assert.match(answer, /^HTTP\/1\.1 413 /, `${what}: the client read the answer (${answer.slice(0, 80)})`);
      assert.match(answer, /\r\nconnection: close\r\n/i, what);
      assert.ok(answer.includes('"reason":"RequestEntityTooLarge"'), `${what}: a Status`);
      assert.ok(sent < total / 2, `${what}: the server stopped taking the body (${sent} bytes written)`);
    }
  assert.deepEqual(await storedNames(), KEPT, 'nothing was stored');
});

test('after a 413 the server closes the connection of a client that keeps trickling the body and never closes', {
  timeout: 60_000,
}, async () => {
  const socket = await api.connect({ allowHalfOpen: true });
  let answer = '';
  socket.on('data', (d: Buffer) => {
    answer += d.toString('latin1');
  });
  socket.on('error', () => {});
  let closed = false;
  socket.once('close', () => {
    closed = true;
  });
  const ended = new Promise<void>((resolve) => socket.once('end', () => resolve()));
  socket.write(
    `POST ${SE_PATH} HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${api.token}\r\n` +
      `content-type: application/json\r\ncontent-length: ${64 * 1024 * 1024}\r\n\r\n${' '.repeat(1024)}`,
  );
  await ended;
  assert.match(answer, /^HTTP\/1\.1 413 /, 'the answer came before the server ended its side');
  // Once the server has closed, a write draws a reset and the socket closes.
  for (let i = 0; i < 150 && !closed; i++) {
    socket.write(' '.repeat(1024));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  socket.destroy();
  assert.equal(closed, true, 'the server closed the lingering connection');
});
