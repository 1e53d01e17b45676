/**
 * Bad input over the API and through kubectl: every rejection is a Kubernetes Status with the
 * right code and reason, and the stored config is exactly what it was before.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type ControlPlane, startControlPlane } from '@sluice/controlplane';
import pino from 'pino';
import YAML from 'yaml';

const KUBECTL = new URL('../../.cache/kubectl/usr/bin/kubectl', import.meta.url).pathname;
const SE_PATH = '/apis/networking.istio.io/v1beta1/namespaces/default/serviceentries';

let cp: ControlPlane;
let dir: string;
let token: string;
let ca: Buffer;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: JSON replies are inspected field by field
  body: Record<string, any>;
}

function api(
  method: string,
  path: string,
  opts: { body?: string | Buffer; contentType?: string; token?: string | null; accept?: string } = {},
): Promise<Reply> {
  const url = new URL(cp.apiUrl);
  const headers: Record<string, string> = { accept: opts.accept ?? 'application/json' };
  const bearer = opts.token === undefined ? token : opts.token;
  if (bearer !== null) headers['authorization'] = `Bearer ${bearer}`;
  if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: url.hostname, port: url.port, path, method, ca, headers, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : {} });
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

function kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      KUBECTL,
      ['--kubeconfig', cp.kubeconfigPath, ...args],
      { cwd: dir, env: { HOME: join(dir, 'home'), PATH: '/usr/bin:/bin' }, timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? '');
  });
}

const seJson = (
  name: string,
  spec: unknown = {
    hosts: ['db.example.com'],
    addresses: ['10.233.78.200/32'],
    ports: [{ name: 'tcp', number: 3306, protocol: 'TCP' }],
    location: 'MESH_EXTERNAL',
  },
) => JSON.stringify({ apiVersion: 'networking.istio.io/v1beta1', kind: 'ServiceEntry', metadata: { name }, spec });

/** Everything stored, as a stable snapshot to compare before/after a rejected request. */
async function snapshot(): Promise<string> {
  const kinds = ['ServiceEntry', 'VirtualService', 'DestinationRule', 'Service'];
  const lists = await Promise.all(kinds.map((kind) => cp.store.list({ kind })));
  return JSON.stringify(lists.map((l) => l.items));
}

function assertStatus(r: Reply, code: number, reason: string): void {
  assert.equal(r.status, code, JSON.stringify(r.body));
  assert.equal(r.body['kind'], 'Status');
  assert.equal(r.body['status'], 'Failure');
  assert.equal(r.body['code'], code);
  assert.equal(r.body['reason'], reason);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slt-api-errors-'));
  cp = await startControlPlane({
    dataDir: join(dir, 'data'),
    apiPort: 0,
    xdsPort: 0,
    logger: pino({ level: 'silent' }),
  });
  const kc = YAML.parse(readFileSync(cp.kubeconfigPath, 'utf8'));
  token = kc.users[0].user.token;
  ca = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64');
  const created = await api('POST', SE_PATH, { body: seJson('existing') });
  assert.equal(created.status, 201, JSON.stringify(created.body));
});

after(async () => {
  await cp?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

test('requests without the bearer token, or with a wrong one, get 401 and see nothing', async () => {
  for (const bad of [null, 'wrong-token', `${token}x`]) {
    const r = await api('GET', SE_PATH, { token: bad });
    assertStatus(r, 401, 'Unauthorized');
    assert.equal(r.body['items'], undefined);
    const w = await api('POST', SE_PATH, { token: bad, body: seJson('sneaky') });
    assertStatus(w, 401, 'Unauthorized');
  }
  assert.equal(await cp.store.get({ kind: 'ServiceEntry', namespace: 'default', name: 'sneaky' }), undefined);
  const r = await kubectl(['--token', 'wrong-token', 'get', 'se']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error: You must be logged in to the server \(Unauthorized\)/);
  const plain = await new Promise<number>((resolve) => {
    const url = new URL(cp.apiUrl);
    https
      .get({ host: url.hostname, port: url.port, path: '/api', rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', () => resolve(-1));
  });
  assert.equal(plain, 401, 'even discovery needs the token');
});

test('a body that is not JSON or YAML is a 400 and stores nothing', async () => {
  const before = await snapshot();
  assertStatus(
    await api('POST', SE_PATH, { body: '{"apiVersion": "networking.istio.io/v1beta1", "kind": ' }),
    400,
    'BadRequest',
  );
  assertStatus(
    await api('POST', SE_PATH, { body: 'kind: [unclosed', contentType: 'application/yaml' }),
    400,
    'BadRequest',
  );
  assertStatus(await api('POST', SE_PATH, { body: '[1,2,3]' }), 400, 'BadRequest');
  assertStatus(
    await api('POST', SE_PATH, { body: 'x', contentType: 'application/vnd.kubernetes.protobuf' }),
    415,
    'UnsupportedMediaType',
  );
  assert.equal(await snapshot(), before);
  writeFileSync(
    join(dir, 'broken.yaml'),
    'apiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\nmetadata:\n  name: broken\n spec: [\n',
  );
  const r = await kubectl(['apply', '-f', 'broken.yaml']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error/);
  assert.equal(await snapshot(), before);
});

test('an invalid spec is a 422 Invalid whose causes kubectl prints field by field', async () => {
  const before = await snapshot();
  const bad = { hosts: [], ports: [{ name: 'tcp', number: 70000, protocol: 'TCP' }], location: 'MESH_SOMEWHERE' };
  const r = await api('POST', SE_PATH, { body: seJson('bad-se', bad) });
  assertStatus(r, 422, 'Invalid');
  assert.equal(r.body['details'].kind, 'ServiceEntry');
  assert.equal(r.body['details'].name, 'bad-se');
  const fields: string[] = r.body['details'].causes.map((c: { field: string }) => c.field);
  assert.ok(
    fields.some((f) => f.startsWith('spec.hosts')),
    `causes: ${fields}`,
  );
  assert.ok(
    fields.some((f) => f.startsWith('spec.ports[0].number') || f.startsWith('spec.ports')),
    `causes: ${fields}`,
  );
  assert.ok(
    fields.some((f) => f.startsWith('spec.location')),
    `causes: ${fields}`,
  );
  for (const c of r.body['details'].causes) assert.ok(c.message.length > 0 && c.reason.length > 0);
  const k = await kubectl(['apply', '-f', '-'], YAML.stringify(JSON.parse(seJson('bad-se', bad))));
  assert.equal(k.code, 1);
  assert.match(k.stderr, /The ServiceEntry "bad-se" is invalid: \n\* /);
  for (const field of ['spec.hosts', 'spec.location', 'spec.ports[0].number'])
    assert.ok(k.stderr.includes(`\n* ${field}: `), `kubectl prints ${field}:\n${k.stderr}`);
  assert.equal(await snapshot(), before);
});

test('warnings from validation reach kubectl as Warning headers, and the object is stored', async () => {
  const noAddresses = {
    hosts: ['tcp.example.com'],
    ports: [{ name: 'tcp', number: 5432, protocol: 'TCP' }],
    location: 'MESH_EXTERNAL',
  };
  const r = await api('POST', `${SE_PATH}?dryRun=All`, { body: seJson('warned', noAddresses) });
  assert.equal(r.status, 201);
  const warning = String(r.headers['warning'] ?? '');
  assert.match(warning, /^299 - ".*address.*"$/);
  const k = await kubectl(['apply', '-f', '-'], YAML.stringify(JSON.parse(seJson('warned', noAddresses))));
  assert.equal(k.code, 0, k.stderr);
  assert.match(k.stderr, /^Warning: .*address/m);
  assert.ok(await cp.store.get({ kind: 'ServiceEntry', namespace: 'default', name: 'warned' }));
});

test('a wrong apiVersion is refused: 400 in a body, 404 in the path', async () => {
  const before = await snapshot();
  const body = seJson('wrong-version').replace('networking.istio.io/v1beta1', 'networking.istio.io/v9');
  assertStatus(await api('POST', SE_PATH, { body }), 400, 'BadRequest');
  assertStatus(
    await api('POST', SE_PATH, {
      body: seJson('wrong-group').replace('networking.istio.io/v1beta1', 'security.istio.io/v1beta1'),
    }),
    400,
    'BadRequest',
  );
  assertStatus(
    await api('POST', '/apis/networking.istio.io/v9/namespaces/default/serviceentries', { body }),
    404,
    'NotFound',
  );
  assertStatus(
    await api('POST', SE_PATH, { body: seJson('wrong-kind').replace('"ServiceEntry"', '"VirtualService"') }),
    400,
    'BadRequest',
  );
  const k = await kubectl(['apply', '-f', '-'], YAML.stringify(JSON.parse(body)));
  assert.equal(k.code, 1);
  assert.match(k.stderr, /no matches for kind "ServiceEntry" in version "networking.istio.io\/v9"/);
  assert.equal(await snapshot(), before);
});

test('a name longer than 253 characters or not DNS-1123 is a 422 on metadata.name', async () => {
  const before = await snapshot();
  const long = 'a'.repeat(254);
  const r = await api('POST', SE_PATH, { body: seJson(long) });
  assertStatus(r, 422, 'Invalid');
  assert.equal(r.body['details'].causes[0].field, 'metadata.name');
  assert.match(r.body['details'].causes[0].message, /must be no more than 253 characters/);
  const upper = await api('POST', SE_PATH, { body: seJson('Not_A_Name') });
  assertStatus(upper, 422, 'Invalid');
  assert.match(upper.body['details'].causes[0].message, /RFC 1123 subdomain/);
  const k = await kubectl(['apply', '-f', '-'], YAML.stringify(JSON.parse(seJson(long))));
  assert.equal(k.code, 1);
  assert.match(
    k.stderr,
    new RegExp(
      `The ServiceEntry "${long}" is invalid: metadata.name: Invalid value: "${long}": must be no more than 253 characters`,
    ),
  );
  assert.equal(await snapshot(), before);
});

test('an update with a stale resourceVersion is a 409 Conflict and changes nothing', async () => {
  const current = (await api('GET', `${SE_PATH}/existing`)).body;
  const fresh = structuredClone(current);
  fresh.spec.hosts = ['first.example.com'];
  const ok = await api('PUT', `${SE_PATH}/existing`, { body: JSON.stringify(fresh) });
  assert.equal(ok.status, 200);
  const before = await snapshot();
  const stale = structuredClone(current);
  stale.spec.hosts = ['second.example.com'];
  const r = await api('PUT', `${SE_PATH}/existing`, { body: JSON.stringify(stale) });
  assertStatus(r, 409, 'Conflict');
  assert.match(r.body['message'], /the object has been modified/);
  const patch = await api('PATCH', `${SE_PATH}/existing`, {
    body: JSON.stringify({
      metadata: { resourceVersion: current.metadata.resourceVersion },
      spec: { hosts: ['third.example.com'] },
    }),
    contentType: 'application/merge-patch+json',
  });
  assertStatus(patch, 409, 'Conflict');
  assert.equal(await snapshot(), before);
  const dup = await api('POST', SE_PATH, { body: seJson('existing') });
  assertStatus(dup, 409, 'AlreadyExists');
  assert.equal(await snapshot(), before);
});

test('unknown kinds and paths are 404 NotFound Status; kubectl says the type is unknown', async () => {
  assertStatus(await api('GET', '/apis/networking.istio.io/v1beta1/namespaces/default/gateways'), 404, 'NotFound');
  assertStatus(await api('GET', '/apis/example.com/v1/widgets'), 404, 'NotFound');
  assertStatus(await api('GET', '/nowhere'), 404, 'NotFound');
  const missing = await api('GET', `${SE_PATH}/nope`);
  assertStatus(missing, 404, 'NotFound');
  assert.equal(missing.body['message'], 'serviceentries.networking.istio.io "nope" not found');
  assert.deepEqual(missing.body['details'], { name: 'nope', group: 'networking.istio.io', kind: 'serviceentries' });
  const k = await kubectl(['get', 'gateways']);
  assert.equal(k.code, 1);
  assert.match(k.stderr, /the server doesn't have a resource type "gateways"/);
});

test('a 5 MB body is refused with 413 before anything is stored', async () => {
  const before = await snapshot();
  const huge = seJson('huge', {
    hosts: ['h.example.com'],
    addresses: ['10.233.78.200/32'],
    ports: [{ name: 'tcp', number: 1, protocol: 'TCP' }],
    junk: 'x'.repeat(5 * 1024 * 1024),
  });
  const r = await api('POST', SE_PATH, { body: huge });
  assertStatus(r, 413, 'RequestEntityTooLarge');
  assert.equal(await snapshot(), before);
  // The server is still healthy afterwards.
  assert.equal((await api('GET', SE_PATH)).status, 200);
});

test('strategic merge patch is 415; merge and JSON patches work; dryRun stores nothing', async () => {
  const before = await snapshot();
  const smp = await api('PATCH', `${SE_PATH}/existing`, {
    body: '{"spec":{"hosts":["x.example.com"]}}',
    contentType: 'application/strategic-merge-patch+json',
  });
  assertStatus(smp, 415, 'UnsupportedMediaType');
  const dry = await api('POST', `${SE_PATH}?dryRun=All`, { body: seJson('dry') });
  assert.equal(dry.status, 201);
  assert.equal(dry.body['metadata'].name, 'dry');
  const dryPatch = await api('PATCH', `${SE_PATH}/existing?dryRun=All`, {
    body: '{"spec":{"hosts":["dry.example.com"]}}',
    contentType: 'application/merge-patch+json',
  });
  assert.equal(dryPatch.status, 200);
  assert.deepEqual(dryPatch.body['spec'].hosts, ['dry.example.com']);
  const dryDelete = await api('DELETE', `${SE_PATH}/existing?dryRun=All`);
  assert.equal(dryDelete.status, 200);
  assert.equal(await snapshot(), before);
  const json = await api('PATCH', `${SE_PATH}/existing`, {
    body: '[{"op":"replace","path":"/spec/hosts/0","value":"json.example.com"}]',
    contentType: 'application/json-patch+json',
  });
  assert.equal(json.status, 200, JSON.stringify(json.body));
  const k = await kubectl([
    'patch',
    'se',
    'existing',
    '--type=merge',
    '-p',
    '{"spec":{"hosts":["merge.example.com"]}}',
  ]);
  assert.equal(k.code, 0, k.stderr);
  const stored = await cp.store.get({ kind: 'ServiceEntry', namespace: 'default', name: 'existing' });
  assert.deepEqual((stored?.spec as { hosts?: string[] } | undefined)?.hosts, ['merge.example.com']);
  const invalidPatch = await api('PATCH', `${SE_PATH}/existing`, {
    body: '{"spec":{"hosts":null}}',
    contentType: 'application/merge-patch+json',
  });
  assertStatus(invalidPatch, 422, 'Invalid');
  assert.deepEqual(
    (await cp.store.get({ kind: 'ServiceEntry', namespace: 'default', name: 'existing' }))?.spec,
    stored?.spec,
  );
});

test('Services get a stable VIP from 240.241.0.0/16 that updates cannot change', async () => {
  const svc = (name: string, spec: object) =>
    JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec });
  const path = '/api/v1/namespaces/default/services';
  const a = await api('POST', path, {
    body: svc('ratings', { selector: { app: 'ratings' }, ports: [{ name: 'http', port: 9080 }] }),
  });
  assert.equal(a.status, 201, JSON.stringify(a.body));
  const ip: string = a.body['spec'].clusterIP;
  assert.match(ip, /^240\.241\.\d+\.\d+$/);
  const b = await api('POST', path, { body: svc('reviews', { ports: [{ port: 9080 }] }) });
  assert.notEqual(b.body['spec'].clusterIP, ip);
  const put = await api('PUT', `${path}/ratings`, {
    body: svc('ratings', { selector: { app: 'ratings' }, ports: [{ name: 'http', port: 9081 }] }),
  });
  assert.equal(put.status, 200);
  assert.equal(put.body['spec'].clusterIP, ip, 'kept on update');
  const change = await api('PUT', `${path}/ratings`, {
    body: svc('ratings', { clusterIP: '240.241.9.9', ports: [{ port: 9080 }] }),
  });
  assertStatus(change, 422, 'Invalid');
  assert.match(change.body['details'].causes[0].message, /field is immutable/);
  const outside = await api('POST', path, { body: svc('outside', { clusterIP: '10.0.0.1', ports: [{ port: 1 }] }) });
  assertStatus(outside, 422, 'Invalid');
  const k = await kubectl(['get', 'svc']);
  assert.match(
    k.stdout,
    new RegExp(`^ratings\\s+ClusterIP\\s+${ip.replaceAll('.', '\\.')}\\s+<none>\\s+9081/TCP\\s+\\d+s$`, 'm'),
  );
});

test('lists page with limit/continue and filter by label and field selectors', async () => {
  for (const n of ['page-a', 'page-b', 'page-c']) {
    const body = JSON.parse(seJson(n));
    body.metadata.labels = { group: 'paging', letter: n.slice(-1) };
    assert.equal((await api('POST', SE_PATH, { body: JSON.stringify(body) })).status, 201);
  }
  const names: string[] = [];
  let cont = '';
  for (let i = 0; i < 5; i++) {
    const r = await api('GET', `${SE_PATH}?labelSelector=group%3Dpaging&limit=2${cont ? `&continue=${cont}` : ''}`);
    assert.equal(r.status, 200);
    assert.equal(r.body['kind'], 'ServiceEntryList');
    names.push(...r.body['items'].map((o: { metadata: { name: string } }) => o.metadata.name));
    cont = r.body['metadata'].continue ?? '';
    if (!cont) break;
  }
  assert.deepEqual(names, ['page-a', 'page-b', 'page-c']);
  const one = await api('GET', `${SE_PATH}?fieldSelector=metadata.name%3Dpage-b`);
  assert.deepEqual(
    one.body['items'].map((o: { metadata: { name: string } }) => o.metadata.name),
    ['page-b'],
  );
  const notIn = await api('GET', `${SE_PATH}?labelSelector=group%3Dpaging,letter%20notin%20(a,b)`);
  assert.deepEqual(
    notIn.body['items'].map((o: { metadata: { name: string } }) => o.metadata.name),
    ['page-c'],
  );
  assertStatus(await api('GET', `${SE_PATH}?fieldSelector=spec.hosts%3Dx`), 400, 'BadRequest');
  const k = await kubectl(['get', 'se', '-l', 'group=paging', '--chunk-size=1', '-o', 'name']);
  assert.equal(
    k.stdout,
    'serviceentry.networking.istio.io/page-a\nserviceentry.networking.istio.io/page-b\nserviceentry.networking.istio.io/page-c\n',
  );
});

test('discovery: core, groups, resources with short names and categories, openapi', async () => {
  const core = await api('GET', '/api');
  assert.deepEqual(core.body['versions'], ['v1']);
  const v1 = await api('GET', '/api/v1');
  assert.ok(v1.body['resources'].some((r: { name: string }) => r.name === 'services'));
  const groups = await api('GET', '/apis');
  const istio = groups.body['groups'].find((g: { name: string }) => g.name === 'networking.istio.io');
  assert.equal(istio.preferredVersion.version, 'v1beta1');
  assert.deepEqual(istio.versions.map((v: { version: string }) => v.version).sort(), ['v1', 'v1alpha3', 'v1beta1']);
  assert.ok(groups.body['groups'].some((g: { name: string }) => g.name === 'sluice.dev'));
  const list = await api('GET', '/apis/networking.istio.io/v1alpha3');
  const se = list.body['resources'].find((r: { name: string }) => r.name === 'serviceentries');
  assert.deepEqual(se.shortNames, ['se']);
  assert.ok(se.categories.includes('istio-io'));
  assert.ok(se.verbs.includes('watch'));
  const openapi = await new Promise<{ status: number; type?: string; etag?: string; length: number }>(
    (resolve, reject) => {
      const url = new URL(cp.apiUrl);
      https
        .get(
          {
            host: url.hostname,
            port: url.port,
            path: '/openapi/v2',
            ca,
            headers: { authorization: `Bearer ${token}` },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                type: res.headers['content-type'],
                etag: res.headers.etag,
                length: Buffer.concat(chunks).length,
              }),
            );
          },
        )
        .on('error', reject);
    },
  );
  assert.deepEqual(openapi.status, 200);
  assert.equal(openapi.type, 'application/octet-stream');
  assert.equal(openapi.length, 0);
  assert.ok(openapi.etag);
  const cats = await kubectl(['get', 'istio-io']);
  assert.equal(cats.code, 0, cats.stderr);
  assert.match(cats.stdout, /serviceentry\.networking\.istio\.io\/existing/);
});
