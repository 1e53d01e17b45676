/**
 * Watch streams as kubectl and controllers use them: `kubectl get -w` with server-side Tables,
 * raw watches from resourceVersion 0 and from a list's version, the ERROR event for a version the
 * store no longer has, and the plain-HTTP mode (unauthenticated, loopback only, said in the log).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { ApiServer, type ControlPlane, startControlPlane } from '@sluice/controlplane';
import { openSqliteStore } from '@sluice/store';
import pino from 'pino';

const KUBECTL = new URL('../../.cache/kubectl/usr/bin/kubectl', import.meta.url).pathname;
const SE_PATH = '/apis/networking.istio.io/v1beta1/namespaces/default/serviceentries';

let dir: string;
let cp: ControlPlane;
const children: ChildProcess[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slt-api-watch-'));
  cp = await startControlPlane({
    dataDir: join(dir, 'data'),
    apiPort: 0,
    xdsPort: 0,
    logger: pino({ level: 'silent' }),
  });
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await cp?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function kubectl(args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      KUBECTL,
      ['--kubeconfig', cp.kubeconfigPath, ...args],
      { env: { HOME: join(dir, 'home'), PATH: '/usr/bin:/bin' }, timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input);
  });
}

const seYaml = (name: string, host: string, resolution?: string) =>
  `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: ${name}
spec:
  hosts: [${host}]
  addresses: [10.233.78.201/32]
  ports: [{name: tcp, number: 5432, protocol: TCP}]
  location: MESH_EXTERNAL
${resolution ? `  resolution: ${resolution}\n` : ''}`;

/** Collects a child's stdout lines and lets a test wait for a line matching a pattern. */
function lineWaiter(child: ChildProcess) {
  const lines: string[] = [];
  let buf = '';
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(line);
      for (const w of [...waiters])
        if (w.re.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
    }
  });
  return {
    lines,
    waitFor(re: RegExp, ms = 10_000): Promise<string> {
      const seen = lines.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line matching ${re} within ${ms} ms; got:\n${lines.join('\n')}`)),
          ms,
        );
        waiters.push({
          re,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
  };
}

test('kubectl get se -w prints Istio columns for adds and changes and keeps watching', async () => {
  assert.equal((await kubectl(['apply', '-f', '-'], seYaml('pg-one', 'one.example.com'))).code, 0);
  const child = spawn(KUBECTL, ['--kubeconfig', cp.kubeconfigPath, 'get', 'se', '-w'], {
    env: { HOME: join(dir, 'home'), PATH: '/usr/bin:/bin' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const out = lineWaiter(child);
  await out.waitFor(/^NAME\s+HOSTS\s+LOCATION\s+RESOLUTION\s+AGE$/);
  await out.waitFor(/^pg-one\s+\["one\.example\.com"\]\s+MESH_EXTERNAL\s+\S+$/);
  assert.equal((await kubectl(['apply', '-f', '-'], seYaml('pg-two', 'two.example.com'))).code, 0);
  await out.waitFor(/^pg-two\s+\["two\.example\.com"\]\s+MESH_EXTERNAL\s+\S+$/);
  assert.equal((await kubectl(['apply', '-f', '-'], seYaml('pg-one', 'one.example.com', 'STATIC'))).code, 0);
  await out.waitFor(/^pg-one\s+\["one\.example\.com"\]\s+MESH_EXTERNAL\s+STATIC\s+\S+$/);
  assert.equal((await kubectl(['delete', 'se', 'pg-two'])).code, 0);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(child.exitCode, null, 'the watch stays open');
  assert.equal(out.lines.filter((l) => l.startsWith('NAME')).length, 1, 'one header for the whole watch');
  child.kill('SIGTERM');
});

interface WatchLine {
  type: string;
  object: { kind: string; metadata: { name?: string; resourceVersion?: string }; code?: number; reason?: string };
}

/** Opens a raw watch and returns its events as they arrive. */
function rawWatch(base: string, path: string, headers: Record<string, string> = {}) {
  const events: WatchLine[] = [];
  let ended = false;
  const req = http.get(`${base}${path}`, { headers }, (res) => {
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      buf += c;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        events.push(JSON.parse(buf.slice(0, nl)) as WatchLine);
        buf = buf.slice(nl + 1);
      }
    });
    res.on('end', () => {
      ended = true;
    });
  });
  req.on('error', () => {
    ended = true;
  });
  const until = async (pred: () => boolean, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`watch condition not met; events: ${JSON.stringify(events)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { events, until, ended: () => ended, close: () => req.destroy() };
}

async function call(base: string, method: string, path: string, body?: unknown, type = 'application/json') {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body ? { 'content-type': type } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('plain HTTP mode: no token needed on loopback, said loudly; raw watches; ERROR 410 for compacted history', async (t) => {
  const logLines: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write: (c, _e, cb) => {
        logLines.push(String(c));
        cb();
      },
    }),
  );
  const store = openSqliteStore(join(dir, 'plain.db'), { historyLimit: 3 });
  const api = new ApiServer({ store, logger, host: '127.0.0.1', port: 0 });
  t.after(async () => {
    api.destroy();
    await store.close();
  });
  const { port } = await api.listen();
  const base = `http://127.0.0.1:${port}`;
  assert.ok(
    logLines.some((l) => l.includes('INSECURE') && l.includes('WITHOUT AUTHENTICATION')),
    logLines.join(''),
  );
  assert.throws(() => new ApiServer({ store, logger, host: '0.0.0.0', port: 0 }), { code: 'InsecureNotLoopback' });

  const se = (name: string) => ({
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'ServiceEntry',
    metadata: { name },
    spec: {
      hosts: [`${name}.example.com`],
      addresses: ['10.233.78.202/32'],
      ports: [{ name: 'tcp', number: 1234, protocol: 'TCP' }],
    },
  });
  assert.equal((await call(base, 'POST', SE_PATH, se('w-a'))).status, 201);

  // rv=0: current state as synthetic ADDED, then live events, in the Table form kubectl asks for.
  const tableAccept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
  const w0 = rawWatch(base, `${SE_PATH}?watch=true&resourceVersion=0`, { accept: tableAccept });
  t.after(() => w0.close());
  await w0.until(() => w0.events.length === 1);
  assert.equal(w0.events[0]?.type, 'ADDED');
  assert.equal(w0.events[0]?.object.kind, 'Table');
  const list = await call(base, 'GET', SE_PATH);
  const listRv = (list.body['metadata'] as { resourceVersion: string }).resourceVersion;
  const wList = rawWatch(base, `${SE_PATH}?watch=true&resourceVersion=${listRv}&fieldSelector=metadata.name%3Dw-b`);
  t.after(() => wList.close());
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await call(base, 'POST', SE_PATH, se('w-b'))).status, 201);
  assert.equal(
    (await call(base, 'PATCH', `${SE_PATH}/w-b`, { spec: { resolution: 'STATIC' } }, 'application/merge-patch+json'))
      .status,
    200,
  );
  assert.equal((await call(base, 'DELETE', `${SE_PATH}/w-b`)).status, 200);
  await wList.until(() => wList.events.length === 3);
  assert.deepEqual(
    wList.events.map((e) => [e.type, e.object.kind, e.object.metadata.name]),
    [
      ['ADDED', 'ServiceEntry', 'w-b'],
      ['MODIFIED', 'ServiceEntry', 'w-b'],
      ['DELETED', 'ServiceEntry', 'w-b'],
    ],
  );
  await w0.until(() => w0.events.length === 4);
  assert.deepEqual(
    w0.events.map((e) => e.type),
    ['ADDED', 'ADDED', 'MODIFIED', 'DELETED'],
  );
  assert.ok(!wList.ended() && !w0.ended(), 'streams stay open');

  // History of 3 events: watching from revision 1 is too old.
  for (const n of ['w-c', 'w-d', 'w-e', 'w-f']) assert.equal((await call(base, 'POST', SE_PATH, se(n))).status, 201);
  const old = rawWatch(base, `${SE_PATH}?watch=true&resourceVersion=1`);
  await old.until(() => old.events.length === 1 && old.ended());
  assert.equal(old.events[0]?.type, 'ERROR');
  assert.equal(old.events[0]?.object.kind, 'Status');
  assert.equal(old.events[0]?.object.code, 410);
  assert.equal(old.events[0]?.object.reason, 'Expired');
});

test('a control plane started with insecureHttp writes an http:// kubeconfig that kubectl uses', async (t) => {
  const plain = await startControlPlane({
    dataDir: join(dir, 'plain-data'),
    apiPort: 0,
    xdsPort: 0,
    insecureHttp: true,
    logger: pino({ level: 'silent' }),
  });
  t.after(() => plain.destroy());
  const kc = readFileSync(plain.kubeconfigPath, 'utf8');
  assert.match(kc, new RegExp(`server: http://127\\.0\\.0\\.1:${plain.apiPort}\\n`));
  assert.doesNotMatch(kc, /token:/);
  const r = await new Promise<{ code: number; stdout: string }>((resolve) => {
    const c = execFile(
      KUBECTL,
      ['--kubeconfig', plain.kubeconfigPath, 'apply', '-f', '-'],
      { env: { HOME: join(dir, 'home2'), PATH: '/usr/bin:/bin' }, timeout: 30_000 },
      (err, stdout) => resolve({ code: err ? 1 : 0, stdout }),
    );
    c.stdin?.end(seYaml('plain', 'plain.example.com'));
  });
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'serviceentry.networking.istio.io/plain created\n');
});
