/**
 * ServiceEntry status written by a real control plane (SQLite in a temp data dir, ephemeral ports):
 * auto-allocated VIPs persisted in `status.addresses` and stable across deletions and restarts, the
 * shared-port Conflict condition on the loser only (with its gauge and one log line), and no write
 * loop. Read back through the API with the CLI, kubectl v1.20.2 and the translation itself.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ApiCredentials, KubeClient, loadKubeconfig } from '@sluice/agent';
import type { Resource } from '@sluice/config';
import { type ControlPlane, startControlPlane } from '@sluice/controlplane';
import pino from 'pino';
import { generateProxyResources } from '../../packages/controlplane/src/translate/index.js';

const SLUICE = fileURLToPath(new URL('../../bin/sluice', import.meta.url));
const KUBECTL = fileURLToPath(new URL('../../.cache/kubectl/usr/bin/kubectl', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'slt-status-se-'));
const dataDir = join(dir, 'data');
const logLines: { level: number; msg: string; serviceEntry?: string; port?: number }[] = [];
let cp: ControlPlane;
let creds: ApiCredentials;
let client: KubeClient;

async function start(): Promise<void> {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logLines.push(JSON.parse(line));
      done();
    },
  });
  cp = await startControlPlane({ dataDir, apiPort: 0, xdsPort: 0, logger: pino({ level: 'info' }, sink) });
  creds = loadKubeconfig(cp.kubeconfigPath);
  client = new KubeClient(creds);
}

async function restart(): Promise<void> {
  client.close();
  await cp.close();
  await start();
}

before(start);
after(async () => {
  client?.close();
  await cp?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

type Obj = Resource & { metadata: { generation?: number; resourceVersion?: string } };

function serviceEntry(name: string, spec: Record<string, unknown>): Resource {
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'ServiceEntry',
    metadata: { name, namespace: 'default' },
    spec: { location: 'MESH_EXTERNAL', ...spec },
  };
}

const dnsEntry = (name: string, port: number) =>
  serviceEntry(name, {
    hosts: [`${name}.example.com`],
    resolution: 'DNS',
    ports: [{ name: 'tcp', number: port, protocol: 'TCP' }],
  });
const addresslessEntry = (name: string, port: number) =>
  serviceEntry(name, {
    hosts: [`${name}.example.com`],
    resolution: 'NONE',
    ports: [{ name: 'tcp', number: port, protocol: 'TCP' }],
  });

const getSe = (name: string) => client.get<Obj>('ServiceEntry', 'default', name);

async function waitFor<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(v)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const addressesOf = (o: Obj) => (o.status?.['addresses'] as { host: string; value: string }[] | undefined) ?? [];
const conditionsOf = (o: Obj) =>
  (o.status?.['conditions'] as { type: string; status: string; reason: string; message: string }[] | undefined) ?? [];

/** Store revisions over a quiet second: a write loop would move it. */
async function revisionsOverQuietSecond(): Promise<number> {
  await cp.status.idle();
  const before = BigInt(await cp.store.revision());
  await new Promise((r) => setTimeout(r, 1000));
  return Number(BigInt(await cp.store.revision()) - before);
}

function metricsText(): Promise<{ status: number; body: string }> {
  const url = new URL(creds.server);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: url.hostname,
        port: url.port,
        path: '/metrics',
        ca: creds.ca,
        headers: creds.token ? { authorization: `Bearer ${creds.token}` } : {},
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function run(cmd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        timeout: 60_000,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: join(dir, 'home'), NO_COLOR: '1' },
      },
      (err, out, errOut) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out, err: errOut }),
    );
  });
}

/** The VIPs the translation answers for each host (the proxy's DNS name table). */
async function translatedVips(): Promise<Record<string, string[]>> {
  const list = await cp.store.list({ kind: 'ServiceEntry' });
  const generated = generateProxyResources(
    {
      id: 'sidecar~10.0.0.5~p.default~default.svc.cluster.local',
      type: 'sidecar',
      ips: ['10.0.0.5'],
      podName: 'p',
      namespace: 'default',
      labels: {},
    },
    { revision: list.revision, resources: list.items },
  );
  const out: Record<string, string[]> = {};
  for (const [host, entry] of Object.entries(generated.nameTable.table)) out[host] = entry.ips;
  return out;
}

test('auto-allocated VIPs are written to status.addresses and stay put across deletions and restarts', async () => {
  await client.create(dnsEntry('vip-a', 3306));
  await client.create(dnsEntry('vip-b', 3306));
  const a = await waitFor(
    'vip-a status',
    () => getSe('vip-a'),
    (o) => addressesOf(o).length > 0,
  );
  const b = await waitFor(
    'vip-b status',
    () => getSe('vip-b'),
    (o) => addressesOf(o).length > 0,
  );
  assert.deepEqual(addressesOf(a), [{ value: '240.240.0.1', host: 'vip-a.example.com' }]);
  assert.deepEqual(addressesOf(b), [{ value: '240.240.0.2', host: 'vip-b.example.com' }]);
  assert.equal(b.metadata.generation, 1, 'a status write is not a spec change');
  assert.deepEqual(conditionsOf(b), [], 'entries with VIPs share no port');

  // kubectl and the CLI show the status as stored.
  const k = await run(KUBECTL, ['--kubeconfig', cp.kubeconfigPath, 'get', 'se', 'vip-b', '-o', 'yaml']);
  assert.equal(k.code, 0, k.err);
  assert.match(k.out, /^status:\n {2}addresses:\n {2}- host: vip-b\.example\.com\n {4}value: 240\.240\.0\.2$/m);
  const y = await run(SLUICE, ['get', 'se', 'vip-b', '-o', 'yaml', '--kubeconfig', cp.kubeconfigPath]);
  assert.match(y.out, /^status:\n {2}addresses:\n {2}- host: vip-b\.example\.com\n {4}value: 240\.240\.0\.2$/m);
  const d = await run(SLUICE, ['describe', 'se', 'vip-b', '--kubeconfig', cp.kubeconfigPath]);
  assert.equal(d.code, 0, d.err);
  assert.match(d.out, /^Addresses:\n {2}Host +Value\n {2}-+ +-+\n {2}vip-b\.example\.com +240\.240\.0\.2\n/m);
  assert.match(d.out, /^Conditions: {3}<none>$/m);

  // Deleting the older entry frees 240.240.0.1; vip-b keeps its address, and a newcomer takes the free one.
  await client.delete('ServiceEntry', 'default', 'vip-a');
  await client.create(dnsEntry('vip-c', 3306));
  const c = await waitFor(
    'vip-c status',
    () => getSe('vip-c'),
    (o) => addressesOf(o).length > 0,
  );
  assert.deepEqual(addressesOf(c), [{ value: '240.240.0.1', host: 'vip-c.example.com' }]);
  assert.deepEqual(addressesOf(await getSe('vip-b')), [{ value: '240.240.0.2', host: 'vip-b.example.com' }]);
  const table = await translatedVips();
  assert.deepEqual(table['vip-b.example.com'], ['240.240.0.2'], 'the proxies answer what the status records');
  assert.deepEqual(table['vip-c.example.com'], ['240.240.0.1']);

  // A restart reads the recorded VIPs back and rewrites nothing.
  const revisionBefore = await cp.store.revision();
  await restart();
  await cp.status.idle();
  assert.deepEqual(addressesOf(await getSe('vip-b')), [{ value: '240.240.0.2', host: 'vip-b.example.com' }]);
  assert.deepEqual(addressesOf(await getSe('vip-c')), [{ value: '240.240.0.1', host: 'vip-c.example.com' }]);
  assert.equal(await cp.store.revision(), revisionBefore, 'no status write after a restart');

  // Giving an entry its own addresses removes the allocation.
  const cur = await getSe('vip-c');
  await client.update({
    ...cur,
    spec: { ...(cur.spec as object), addresses: ['192.0.2.44'] },
  });
  await waitFor(
    'vip-c status cleared',
    () => getSe('vip-c'),
    (o) => o.status === undefined,
  );
  for (const name of ['vip-b', 'vip-c']) await client.delete('ServiceEntry', 'default', name);
});

test('a shared-port conflict marks the loser only, sets the gauge, logs once, and clears when the winner goes', async () => {
  await client.create(addresslessEntry('pg-old', 5432));
  await new Promise((r) => setTimeout(r, 1100)); // a later creationTimestamp (seconds precision)
  await client.create(addresslessEntry('pg-young', 5432));
  const loser = await waitFor(
    'pg-young condition',
    () => getSe('pg-young'),
    (o) => conditionsOf(o).length > 0,
  );
  assert.deepEqual(
    conditionsOf(loser).map(({ type, status, reason, message }) => ({ type, status, reason, message })),
    [
      {
        type: 'Conflict',
        status: 'True',
        reason: 'SharedPortConflict',
        message:
          "port 5432 is already claimed by ServiceEntry default/pg-old (older); this entry's TCP port 5432 is ignored — give it addresses or a DNS resolution so it gets a VIP",
      },
    ],
  );
  assert.equal(loser.metadata.generation, 1);
  assert.equal((await getSe('pg-old')).status, undefined, 'the winner carries no condition');

  const m = await metricsText();
  assert.equal(m.status, 200);
  assert.match(m.body, /^sluice_conflict_outbound_listener_tcp\{namespace="default",name="pg-young",port="5432"\} 1$/m);
  assert.doesNotMatch(m.body, /name="pg-old"/);

  const d = await run(SLUICE, ['describe', 'se', 'pg-young', '--kubeconfig', cp.kubeconfigPath]);
  assert.match(d.out, /^Conditions:\n {2}Type +Status +Reason +Last Transition Time +Message\n/m);
  assert.match(
    d.out,
    /^ {2}Conflict +True +SharedPortConflict +\d{4}-\d\d-\d\dT[\d:]+Z +port 5432 is already claimed/m,
  );
  assert.match(d.out, /^Addresses: {4}<none>$/m);

  // Unrelated changes re-run the controller; the condition is not rewritten and the warning not repeated.
  await client.create(dnsEntry('pg-unrelated', 9999));
  await waitFor(
    'pg-unrelated status',
    () => getSe('pg-unrelated'),
    (o) => addressesOf(o).length > 0,
  );
  assert.equal((await getSe('pg-young')).metadata.resourceVersion, loser.metadata.resourceVersion);
  assert.equal(await revisionsOverQuietSecond(), 0, 'no status write loop');
  const warnings = logLines.filter((l) => l.level === 40 && l.serviceEntry === 'default/pg-young');
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.match(warnings[0]?.msg ?? '', /loses port 5432 to the older ServiceEntry default\/pg-old/);

  // The metrics endpoint is behind the API's authentication.
  const url = new URL(creds.server);
  const anonymous = await new Promise<number>((resolve, reject) => {
    https
      .get({ host: url.hostname, port: url.port, path: '/metrics', ca: creds.ca }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
  assert.equal(anonymous, 401);

  await client.delete('ServiceEntry', 'default', 'pg-old');
  await waitFor(
    'pg-young condition cleared',
    () => getSe('pg-young'),
    (o) => o.status === undefined,
  );
  assert.doesNotMatch((await metricsText()).body, /name="pg-young"/);
  assert.equal(await revisionsOverQuietSecond(), 0, 'no status write loop');
  for (const name of ['pg-young', 'pg-unrelated']) await client.delete('ServiceEntry', 'default', name);
});
