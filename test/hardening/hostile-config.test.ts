/**
 * Hostile config input through the API and the CLI, against `sluice up` in a process of its own:
 * the config package's bad-input corpus (POSTed one case at a time, and through
 * `sluice apply -f`), then API-level abuse — bodies beyond the limit, 100,000 levels of nesting,
 * invalid UTF-8, a `kind: List` of 10,000 objects, path traversal in names and namespaces, NUL
 * bytes. Each must get a clear Kubernetes Status error, store nothing (read back by listing every
 * kind), and leave the server's memory bounded (its peak RSS is sampled from /proc).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { KINDS } from '@sluice/config';
import YAML from 'yaml';
import { ApiClient, type ApiReply } from './lib/api-client.js';
import { badCases, type CorpusCase } from './lib/bad-config-corpus.js';
import { type ControlPlaneProcess, SLUICE_BIN, startControlPlaneProcess } from './lib/control-plane-process.js';
import { snapshotDiff, storedObjects } from './lib/stored-objects.js';
import { recordScenario } from './lib/summary.js';
import { makeTempDir, type TempDir } from './lib/temp-dir.js';

const SE_PATH = '/apis/networking.istio.io/v1beta1/namespaces/default/serviceentries';
const ISTIO = '/apis/networking.istio.io/v1beta1';
/** The API server's default request body limit (3 MiB, as Kubernetes). */
const BODY_LIMIT = 3 * 1024 * 1024;
/** How much the server's peak RSS may grow over the whole abuse run. */
const RSS_GROWTH_BOUND = 256 * 1024 * 1024;

let dir: TempDir;
let cp: ControlPlaneProcess;
let client: ApiClient;
let baseline: string[];
let peakBefore = 0;

/** Counts for the summary row, over every test of this file. */
const tally = { requests: 0, bytes: 0, accepted: [] as string[] };

const se = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'networking.istio.io/v1beta1',
  kind: 'ServiceEntry',
  metadata: { name },
  spec: {
    hosts: [`${name}.example.com`],
    addresses: ['10.233.91.10/32'],
    ports: [{ name: 'tcp', number: 3306, protocol: 'TCP' }],
    location: 'MESH_EXTERNAL',
    resolution: 'NONE',
    ...spec,
  },
});

before(async () => {
  dir = makeTempDir('hostile-config');
  cp = await startControlPlaneProcess(join(dir.path, 'data'));
  client = ApiClient.fromKubeconfig(cp.kubeconfigPath);
  // Objects that must survive everything below untouched, in two namespaces.
  for (const [ns, name] of [
    ['default', 'keep-a'],
    ['default', 'keep-b'],
    ['prod', 'keep-c'],
  ] as const) {
    const r = await client.request('POST', `${ISTIO}/namespaces/${ns}/serviceentries`, {
      body: JSON.stringify(se(name)),
    });
    assert.equal(r.status, 201, r.text);
  }
  baseline = await storedObjects(client);
  peakBefore = cp.memory().peak;
});

after(async () => {
  client?.close();
  await cp?.stop();
  dir?.remove();
});

/** The server's peak RSS after each test. */
const peaks: string[] = [];

/** Problems found by the current test; each test asserts its list is empty at its end. */
let problems: string[] = [];

/**
 * Sends one hostile request and checks it got a failure Status with one of `codes`. A mismatch is
 * noted in `problems` (not thrown), so one test reports every request that was mishandled.
 */
async function refused(
  what: string,
  method: string,
  path: string,
  opts: { body?: string | Buffer; contentType?: string },
  codes: number[],
): Promise<ApiReply> {
  const r = await client.request(method, path, opts);
  tally.requests++;
  tally.bytes += opts.body?.length ?? 0;
  if (r.status < 300) tally.accepted.push(`${what}: ${method} ${path} -> ${r.status}`);
  const isStatus =
    r.json?.kind === 'Status' &&
    r.json.status === 'Failure' &&
    r.json.code === r.status &&
    typeof r.json.message === 'string' &&
    r.json.message.length > 0;
  if (!codes.includes(r.status) || !isStatus)
    problems.push(
      `${what}: expected a Status with HTTP ${codes.join(' or ')}, got ${r.status}: ${r.text.slice(0, 240)}`,
    );
  return r;
}

/** Runs one test's requests and checks that they were all refused and changed nothing stored. */
async function hostile(what: string, body: () => Promise<void>): Promise<void> {
  problems = [];
  const before = await storedObjects(client);
  await body();
  const diff = snapshotDiff(before, await storedObjects(client));
  if (diff.added.length) problems.push(`${what}: stored ${diff.added.join(', ')}`);
  if (diff.lost.length) problems.push(`${what}: changed or deleted ${diff.lost.join(', ')}`);
  peaks.push(`${what}: ${(cp.memory().peak / 1048576).toFixed(0)} MiB`);
  assert.deepEqual(problems, [], `${what}: every request refused, nothing stored`);
}

/** The collection a corpus document belongs to, or the ServiceEntry one when its envelope is unusable. */
function collectionFor(c: CorpusCase): string {
  let doc: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = YAML.parse(c.text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) doc = parsed as Record<string, unknown>;
  } catch {
    doc = undefined;
  }
  const apiVersion = typeof doc?.['apiVersion'] === 'string' ? doc['apiVersion'] : '';
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
  const kind = KINDS.find((k) => k.kind === doc?.['kind'] && k.group === group && k.versions.includes(version!));
  if (!kind) return SE_PATH;
  const meta = doc?.['metadata'];
  const ns =
    meta && typeof meta === 'object' && typeof (meta as Record<string, unknown>)['namespace'] === 'string'
      ? ((meta as Record<string, unknown>)['namespace'] as string)
      : 'default';
  const base = kind.group ? `/apis/${kind.group}/${version}` : `/api/${version}`;
  return kind.namespaced ? `${base}/namespaces/${encodeURIComponent(ns)}/${kind.plural}` : `${base}/${kind.plural}`;
}

/** True when a Status cause names the field path (or a parent or child of it). */
function causeNames(causes: { field: string }[], path: string): boolean {
  const related = (a: string, b: string) => a === b || a.startsWith(`${b}.`) || a.startsWith(`${b}[`);
  return causes.some((c) => related(c.field, path) || related(path, c.field));
}

/** Metadata the server owns and overwrites: a bad client value there is ignored, as Kubernetes does. */
const SERVER_OWNED = ['metadata.creationTimestamp', 'metadata.uid', 'metadata.resourceVersion', 'metadata.generation'];

/** The corpus cases the API must refuse: those with an error outside server-owned metadata. */
function badForTheApi(): CorpusCase[] {
  return badCases()
    .map((c) => ({ ...c, errors: c.errors.filter((e) => !SERVER_OWNED.includes(e.path)) }))
    .filter((c) => c.errors.length > 0);
}

test('every bad case of the config corpus POSTed to the API is refused, naming the fields, and nothing is stored', async () => {
  const cases = badForTheApi();
  assert.ok(cases.length >= 30, `the corpus has bad cases (found ${cases.length})`);
  await hostile('the corpus through the API', async () => {
    for (const c of cases) {
      const what = `${c.file} "${c.name}"`;
      const r = await refused(
        what,
        'POST',
        collectionFor(c),
        { body: c.text, contentType: 'application/yaml' },
        [400, 404, 422],
      );
      if (r.status !== 422) continue;
      const causes: { field: string }[] = r.json.details?.causes ?? [];
      for (const e of c.errors)
        if (!causeNames(causes, e.path))
          problems.push(
            `${what}: the 422 does not name ${e.path} (${e.code}); causes: ${causes.map((x) => x.field).join(', ')}`,
          );
    }
  });
});

function sluice(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      SLUICE_BIN,
      args,
      { env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('the bad corpus through `sluice apply -f` is refused case by case with file, code and field, and nothing is stored', async () => {
  const cases = badCases();
  const manifests = join(dir.path, 'bad-manifests');
  mkdirSync(manifests);
  const files = cases.map((c, i) => {
    const file = join(manifests, `case-${String(i).padStart(3, '0')}.yaml`);
    writeFileSync(file, c.text);
    return file;
  });
  await hostile('the corpus through sluice apply', async () => {
    // All cases at once: every file is reported, with each expected error's code.
    const all = await sluice(['apply', '--kubeconfig', cp.kubeconfigPath, '-f', manifests]);
    tally.requests++;
    if (all.code === 0) problems.push('sluice apply of the bad corpus exited 0');
    if (!/nothing was applied/.test(all.stderr))
      problems.push(`sluice apply does not say nothing was applied: ${all.stderr.slice(-300)}`);
    if (all.stdout.trim() !== '') problems.push(`sluice apply reported changes: ${all.stdout.slice(0, 300)}`);
    for (const [i, c] of cases.entries()) {
      if (!all.stderr.includes(files[i]!))
        problems.push(`${c.file} "${c.name}": sluice apply does not name ${files[i]}`);
      for (const e of c.errors)
        if (!all.stderr.includes(`[${e.code}] ${e.path}`))
          problems.push(`${c.file} "${c.name}": sluice apply does not report "[${e.code}] ${e.path}"`);
    }
    // One bad case among good objects: the good ones are not applied either.
    const mixed = join(dir.path, 'mixed.yaml');
    const first = cases[0]!;
    writeFileSync(
      mixed,
      [YAML.stringify(se('would-be-good-1')), first.text, YAML.stringify(se('would-be-good-2'))].join('\n---\n'),
    );
    const one = await sluice(['apply', '--kubeconfig', cp.kubeconfigPath, '-f', mixed]);
    tally.requests++;
    if (one.code === 0) problems.push('sluice apply of good objects plus one bad one exited 0');
    if (!one.stderr.includes(`[${first.errors[0]!.code}]`))
      problems.push(
        `sluice apply of the mixed file does not report ${first.errors[0]!.code}: ${one.stderr.slice(0, 300)}`,
      );
  });
});

/**
 * Sends a request whose body is `total` bytes (declared with Content-Length, or chunked) over a raw
 * TLS connection, writing until the server answers or closes. Returns the answer and how many
 * bytes of body the server let through before that.
 */
async function oversizedPost(
  path: string,
  total: number,
  chunked: boolean,
): Promise<{ answer: string; bodySent: number }> {
  const url = new URL(client.creds.server);
  const socket = tls.connect({ host: url.hostname, port: Number(url.port), ca: client.creds.ca });
  await once(socket, 'secureConnect');
  let answer = '';
  socket.on('data', (d: Buffer) => {
    answer += d.toString('latin1');
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const drained = () => new Promise<void>((resolve) => socket.once('drain', () => resolve()));
  socket.write(
    `POST ${path} HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: Bearer ${client.creds.token}\r\n` +
      `content-type: application/json\r\n${chunked ? 'transfer-encoding: chunked' : `content-length: ${total}`}\r\n\r\n`,
  );
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const framed = chunked ? Buffer.concat([Buffer.from('10000\r\n'), chunk, Buffer.from('\r\n')]) : chunk;
  let bodySent = 0;
  while (bodySent < total && !socket.destroyed && answer === '') {
    bodySent += chunk.length;
    if (!socket.write(framed)) await Promise.race([drained(), closed]);
  }
  if (!socket.destroyed) socket.end(chunked ? '0\r\n\r\n' : '');
  await Promise.race([closed, new Promise((r) => setTimeout(r, 10_000))]);
  socket.destroy();
  return { answer, bodySent };
}

test('bodies beyond the 3 MiB limit get a 413 the client can read, without being read to the end', async () => {
  const total = 64 * 1024 * 1024;
  // The server closes while the client is still sending: unless it lets the client read its answer
  // before the connection is reset, a client sees ECONNRESET instead of the 413. Several attempts
  // make that race visible.
  const attempts = 6;
  await hostile('oversized bodies', async () => {
    for (const chunked of [false, true]) {
      const what = chunked ? 'a 64 MiB chunked body' : 'a 64 MiB body with Content-Length';
      let unanswered = 0;
      for (let i = 0; i < attempts; i++) {
        const { answer, bodySent } = await oversizedPost(SE_PATH, total, chunked);
        tally.requests++;
        tally.bytes += bodySent;
        const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1];
        if (answer === '') unanswered++;
        else if (status !== '413' || !answer.includes('"reason":"RequestEntityTooLarge"'))
          problems.push(`${what}: expected a 413 RequestEntityTooLarge Status, got: ${answer.slice(0, 200)}`);
        if (bodySent > 24 * 1024 * 1024) problems.push(`${what}: the server took ${bodySent} bytes before refusing`);
      }
      if (unanswered > 0)
        problems.push(`${what}: ${unanswered} of ${attempts} clients got the connection reset without the 413 Status`);
    }
  });
});

const deepArrays = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepObjects = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

test('100,000 levels of nesting anywhere in a body are a 400, not a crash or a 5xx', async () => {
  const n = 100_000;
  const obj = JSON.stringify(se('deep'));
  await hostile('deep nesting', async () => {
    await refused('deep arrays as the body', 'POST', SE_PATH, { body: deepArrays(n) }, [400]);
    await refused('deep objects as the body', 'POST', SE_PATH, { body: deepObjects(n) }, [400]);
    await refused(
      'deep arrays as a YAML body',
      'POST',
      SE_PATH,
      { body: deepArrays(n), contentType: 'application/yaml' },
      [400],
    );
    await refused(
      'deep arrays inside spec',
      'POST',
      SE_PATH,
      { body: obj.replace('"location"', `"extra":${deepArrays(n)},"location"`) },
      [400, 422],
    );
    await refused(
      'deep objects inside metadata.labels',
      'POST',
      SE_PATH,
      { body: obj.replace('"metadata":{', `"metadata":{"labels":{"a":${deepObjects(n)}},`) },
      [400, 422],
    );
    await refused(
      'deep arrays in a merge patch',
      'PATCH',
      `${SE_PATH}/keep-a`,
      { body: `{"spec":{"extra":${deepArrays(n)}}}`, contentType: 'application/merge-patch+json' },
      [400, 422],
    );
  });
});

test('invalid UTF-8 in a body is a 400 and nothing is stored (no silent replacement characters)', async () => {
  const withBytes = (text: string, marker: string, bytes: number[]) => {
    const buf = Buffer.from(text);
    const at = buf.indexOf(marker);
    return Buffer.concat([buf.subarray(0, at), Buffer.from(bytes), buf.subarray(at + marker.length)]);
  };
  const annotated = (name: string) => ({ ...se(name), metadata: { name, annotations: { note: 'MARK' } } });
  await hostile('invalid UTF-8', async () => {
    await refused(
      'invalid UTF-8 in an annotation (JSON)',
      'POST',
      SE_PATH,
      { body: withBytes(JSON.stringify(annotated('utf8-invalid')), 'MARK', [0xc3, 0x28]) },
      [400],
    );
    await refused(
      'overlong UTF-8 in an annotation (JSON)',
      'POST',
      SE_PATH,
      { body: withBytes(JSON.stringify(annotated('utf8-overlong')), 'MARK', [0xc0, 0xaf]) },
      [400],
    );
    await refused(
      'an encoded lone surrogate in an annotation (YAML)',
      'POST',
      SE_PATH,
      {
        body: withBytes(YAML.stringify(annotated('utf8-surrogate')), 'MARK', [0xed, 0xa0, 0x80]),
        contentType: 'application/yaml',
      },
      [400],
    );
    await refused(
      'invalid UTF-8 in a host',
      'POST',
      SE_PATH,
      { body: withBytes(JSON.stringify(se('utf8-host')), 'utf8-host.example.com', [0xff, 0xfe]) },
      [400, 422],
    );
  });
});

test('a kind: List of 10,000 ServiceEntries in one request is refused as a whole', async () => {
  const items = Array.from({ length: 10_000 }, (_, i) => se(`bulk-${i}`));
  const body = JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
  assert.ok(body.length < BODY_LIMIT, `the List (${body.length} bytes) is within the body limit, so it is parsed`);
  await hostile('10,000-item List', async () => {
    for (const path of [SE_PATH, `${ISTIO}/serviceentries`, '/api/v1/namespaces/default/services'])
      await refused(`a 10,000-item List to ${path}`, 'POST', path, { body }, [400, 405]);
    await refused(
      `a 10,000-item List as YAML`,
      'POST',
      SE_PATH,
      { body: YAML.stringify(JSON.parse(body)), contentType: 'application/yaml' },
      [400, 413],
    );
  });
});

test('names and namespaces with path traversal, slashes or NUL are refused and act on nothing', async () => {
  const body = (name: string) => JSON.stringify(se(name));
  await hostile('path traversal and NUL', async () => {
    // In the URL: the name segment.
    for (const seg of [
      '..',
      '%2e%2e',
      '%2E%2E',
      '..%2f..%2fkeep-a',
      'keep-a%2f..%2fkeep-b',
      'a%2fb',
      'keep-a%00',
      '%00',
    ]) {
      await refused(`GET name "${seg}"`, 'GET', `${SE_PATH}/${seg}`, {}, [400, 404]);
      await refused(`PUT name "${seg}"`, 'PUT', `${SE_PATH}/${seg}`, { body: body('keep-a') }, [400, 404, 422]);
      await refused(`DELETE name "${seg}"`, 'DELETE', `${SE_PATH}/${seg}`, {}, [400, 404]);
    }
    // In the URL: the namespace segment. A dot-segment must not resolve into another namespace.
    // (DELETE of a collection is a dry run: it answers with what it would delete.)
    for (const [i, ns] of ['..', '%2e%2e', '.%2e', '..%2f', '%2f', 'prod%2f..%2fdefault'].entries()) {
      const path = `${ISTIO}/namespaces/${ns}/serviceentries`;
      await refused(`POST in namespace "${ns}"`, 'POST', path, { body: body(`traversal-${i}`) }, [400, 404, 422]);
      await refused(`DELETE the collection in namespace "${ns}"`, 'DELETE', `${path}?dryRun=All`, {}, [400, 404]);
    }
    await refused(
      'POST in namespace "default%00"',
      'POST',
      `${ISTIO}/namespaces/default%00/serviceentries`,
      { body: body('nul-ns') },
      [400, 404, 422],
    );
    // Malformed percent-encoding is the client's mistake: 400, not 500.
    await refused('malformed percent-encoding', 'GET', `${SE_PATH}/%E0%A4%A`, {}, [400]);
    // In the body.
    for (const name of ['../keep-a', '..', 'a/b', 'keep-a\u0000', '\u0000', 'a\u0000b', 'keep-a/..'])
      await refused(`body name ${JSON.stringify(name)}`, 'POST', SE_PATH, { body: body(name) }, [400, 422]);
    await refused(
      'body namespace "../prod"',
      'POST',
      `${ISTIO}/serviceentries`,
      { body: JSON.stringify({ ...se('traversal'), metadata: { name: 'traversal', namespace: '../prod' } }) },
      [400, 422],
    );
    await refused(
      'NUL in a host',
      'POST',
      SE_PATH,
      { body: JSON.stringify(se('nul-host', { hosts: ['db\u0000.example.com'] })) },
      [400, 422],
    );
    await refused(
      'NUL in a label value',
      'POST',
      SE_PATH,
      { body: JSON.stringify({ ...se('nul-label'), metadata: { name: 'nul-label', labels: { app: 'a\u0000b' } } }) },
      [400, 422],
    );
  });
});

test('after all of it the server is healthy, its peak memory stayed bounded, and the summary row is recorded', async (t) => {
  const health = await client.request('GET', '/readyz');
  const { peak } = cp.memory();
  const growth = peak - peakBefore;
  const diff = snapshotDiff(baseline, await storedObjects(client));
  t.diagnostic(`server peak RSS: ${(peakBefore / 1048576).toFixed(0)} MiB at the start; after ${peaks.join('; ')}`);
  recordScenario({
    scenario: '7 hostile config input (API + sluice apply)',
    load: `${badCases().length} corpus cases x 2 paths, 64 MiB bodies, 100k-deep nesting, 10k-item List`,
    faults: 'bad manifests, oversized/deep/invalid-UTF-8 bodies, traversal and NUL names',
    requests: tally.requests,
    bytes: tally.bytes,
    leaks: tally.accepted.length + diff.added.length,
    losses: diff.lost.length,
  });
  assert.equal(health.status, 200, 'the server still answers');
  assert.deepEqual(tally.accepted, [], 'hostile requests the server accepted');
  assert.deepEqual(
    diff,
    { added: [], lost: [] },
    'the objects stored before the run are all there, unchanged, and nothing else',
  );
  assert.ok(
    growth < RSS_GROWTH_BOUND,
    `the server's peak RSS grew by ${(growth / 1048576).toFixed(0)} MiB (bound ${RSS_GROWTH_BOUND / 1048576} MiB)`,
  );
});
