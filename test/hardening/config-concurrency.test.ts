/**
 * Config under concurrency: 8 HTTPS writers with the token race on the same ServiceEntries of a
 * real control plane (SQLite store, then etcd). In every round all writers read the same object,
 * wait for each other, then write at once: PUTs carrying the resourceVersion they read, merge
 * patches pinned to it, and kubectl-style merge patches without one. Every write must succeed or
 * get 409 Conflict, at most one write pinned to a version may win, the final object must be the
 * last successful write, and a `?watch=true` stream must carry every successful version, in order,
 * with nothing else.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type ControlPlane, startControlPlane } from '@sluice/controlplane';
import { type EtcdProcess, startEtcd } from '@sluice/store';
import pino from 'pino';
import { ApiClient, type ApiReply, type WatchStream } from './lib/api-client.js';
import { recordScenario } from './lib/summary.js';
import { makeTempDir, type TempDir } from './lib/temp-dir.js';

const SE_PATH = '/apis/networking.istio.io/v1beta1/namespaces/default/serviceentries';
const WRITERS = 8;
const ROUNDS = 30;
const RESOURCES = ['race-a', 'race-b', 'race-c'];
const DEADLINE_MS = 60_000;

type Op = 'put' | 'patch-pinned' | 'patch-unpinned';
/** Writer i's operation: four PUTs with resourceVersion, two pinned merge patches, two kubectl-style ones. */
const OPS: Op[] = ['put', 'patch-pinned', 'patch-unpinned', 'put', 'put', 'patch-pinned', 'patch-unpinned', 'put'];

interface WriteResult {
  round: number;
  writer: number;
  op: Op;
  name: string;
  host: string;
  status: number;
  /** resourceVersion of the stored object, for a successful write. */
  rv?: string;
  reason?: string;
}

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const seBody = (name: string, host: string, resourceVersion?: string) =>
  JSON.stringify({
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'ServiceEntry',
    metadata: { name, ...(resourceVersion ? { resourceVersion } : {}) },
    spec: {
      hosts: [host],
      addresses: ['10.233.90.10/32'],
      ports: [{ name: 'tcp', number: 5432, protocol: 'TCP' }],
      location: 'MESH_EXTERNAL',
      resolution: 'NONE',
    },
  });

/** A promise every writer of a round awaits, released when the last one arrives. */
function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((r) => {
    release = r;
  });
  return () => {
    arrived++;
    if (arrived === parties) release();
    return all;
  };
}

async function write(client: ApiClient, op: Op, name: string, host: string, rv: string): Promise<ApiReply> {
  const path = `${SE_PATH}/${name}`;
  switch (op) {
    case 'put':
      return client.request('PUT', path, { body: seBody(name, host, rv) });
    case 'patch-pinned':
      return client.request('PATCH', path, {
        body: JSON.stringify({ metadata: { resourceVersion: rv }, spec: { hosts: [host] } }),
        contentType: 'application/merge-patch+json',
      });
    case 'patch-unpinned':
      return client.request('PATCH', path, {
        body: JSON.stringify({ spec: { hosts: [host] } }),
        contentType: 'application/merge-patch+json',
      });
  }
}

async function runRace(cp: ControlPlane, label: string): Promise<void> {
  const admin = ApiClient.fromKubeconfig(cp.kubeconfigPath);
  const writers = Array.from({ length: WRITERS }, () => ApiClient.fromKubeconfig(cp.kubeconfigPath));
  let watch: WatchStream | undefined;
  try {
    for (const name of RESOURCES) {
      const r = await admin.request('POST', SE_PATH, { body: seBody(name, `${name}.initial.example.com`) });
      assert.equal(r.status, 201, r.text);
    }
    const listed = await admin.request('GET', SE_PATH);
    assert.equal(listed.status, 200, listed.text);
    const created = new Map<string, string>(
      listed.json.items.map((o: { metadata: { name: string; resourceVersion: string } }) => [
        o.metadata.name,
        o.metadata.resourceVersion,
      ]),
    );
    watch = await admin.watch(`${SE_PATH}?watch=true&resourceVersion=${listed.json.metadata.resourceVersion}`);

    const results: WriteResult[] = [];
    let requests = 1 + RESOURCES.length;
    let bytes = 0;
    const unexpected: string[] = [];
    const started = Date.now();
    for (let round = 0; round < ROUNDS && Date.now() - started < DEADLINE_MS; round++) {
      const name = RESOURCES[round % RESOURCES.length]!;
      const arrive = barrier(WRITERS);
      const roundResults = await Promise.all(
        writers.map(async (client, writer): Promise<WriteResult> => {
          const current = await client.request('GET', `${SE_PATH}/${name}`);
          assert.equal(current.status, 200, current.text);
          const rv: string = current.json.metadata.resourceVersion;
          const op = OPS[writer]!;
          const host = `w${writer}-r${round}.${name}.example.com`;
          await arrive();
          const reply = await write(client, op, name, host, rv);
          bytes += reply.text.length;
          const result: WriteResult = { round, writer, op, name, host, status: reply.status };
          if (reply.status === 200) {
            result.rv = reply.json.metadata.resourceVersion;
            if (reply.json.spec?.hosts?.[0] !== host)
              unexpected.push(
                `${op} by writer ${writer} answered 200 with hosts ${JSON.stringify(reply.json.spec?.hosts)}`,
              );
          } else if (reply.status === 409) {
            result.reason = reply.json?.reason;
            if (reply.json?.kind !== 'Status' || reply.json?.reason !== 'Conflict')
              unexpected.push(`${op} by writer ${writer} got 409 without a Conflict Status: ${reply.text}`);
          } else {
            unexpected.push(`${op} by writer ${writer} in round ${round} got ${reply.status}: ${reply.text}`);
          }
          return result;
        }),
      );
      requests += 2 * WRITERS;
      results.push(...roundResults);
    }
    const rounds = new Set(results.map((r) => r.round)).size;

    // The last successful write of each object, by resourceVersion.
    const successes = results.filter((r) => r.status === 200);
    const byRv = (a: WriteResult, b: WriteResult) => Number(a.rv) - Number(b.rv);
    const successesOf = (name: string) => successes.filter((r) => r.name === name).sort(byRv);
    const lastRv = new Map(RESOURCES.map((n) => [n, successesOf(n).at(-1)?.rv ?? created.get(n)!]));

    // Wait (bounded) until the watch has carried the last version of each object.
    const seenLast = () =>
      RESOURCES.every((n) =>
        watch!.events.some(
          (e) => e.object?.metadata?.name === n && e.object.metadata.resourceVersion === lastRv.get(n),
        ),
      );
    let watchComplete = true;
    await watch.waitUntil(seenLast, 15_000).catch(() => {
      watchComplete = false;
    });

    // Compare, object by object, the watched versions with the successful writes.
    let losses = 0;
    let leaks = 0;
    const problems: string[] = [];
    const allRvs = watch.events.map((e) => Number(e.object?.metadata?.resourceVersion));
    for (let i = 1; i < allRvs.length; i++)
      if (!(allRvs[i]! > allRvs[i - 1]!))
        problems.push(`watch versions out of order: ${allRvs[i - 1]} then ${allRvs[i]}`);
    for (const name of RESOURCES) {
      const expected = successesOf(name).map((r) => `${r.rv} ${r.host}`);
      const watched = watch.events
        .filter((e) => e.object?.metadata?.name === name)
        .map((e) => `${e.object.metadata.resourceVersion} ${e.object.spec.hosts[0]}`);
      const expectedSet = new Set(expected);
      const watchedSet = new Set(watched);
      const missing = expected.filter((x) => !watchedSet.has(x));
      const extra = watched.filter((x) => !expectedSet.has(x));
      losses += missing.length;
      leaks += extra.length;
      if (missing.length) problems.push(`${name}: successful writes missing from the watch: ${missing.join(', ')}`);
      if (extra.length) problems.push(`${name}: watched versions no successful write made: ${extra.join(', ')}`);
      if (missing.length === 0 && extra.length === 0 && watched.join() !== expected.join())
        problems.push(`${name}: watch order ${watched.join(', ')} differs from write order ${expected.join(', ')}`);
      const final = await admin.request('GET', `${SE_PATH}/${name}`);
      requests++;
      const last = successesOf(name).at(-1);
      const wantHost = last?.host ?? `${name}.initial.example.com`;
      if (final.json?.metadata?.resourceVersion !== lastRv.get(name) || final.json?.spec?.hosts?.[0] !== wantHost) {
        losses++;
        problems.push(
          `${name}: final state rv=${final.json?.metadata?.resourceVersion} host=${final.json?.spec?.hosts?.[0]}, last successful write rv=${lastRv.get(name)} host=${wantHost}`,
        );
      }
    }
    const conflicts = results.filter((r) => r.status === 409).length;
    recordScenario({
      scenario: `6 config concurrency (${label})`,
      load: `${WRITERS} HTTPS writers x ${rounds} rounds on ${RESOURCES.length} objects`,
      faults: `conflicting PUT/merge PATCH (${conflicts} got 409)`,
      requests,
      bytes,
      leaks,
      losses,
    });

    assert.equal(rounds, ROUNDS, `only ${rounds} of ${ROUNDS} rounds ran within ${DEADLINE_MS} ms`);
    assert.deepEqual(unexpected, [], 'every write either succeeds or gets 409 Conflict');
    for (let round = 0; round < rounds; round++) {
      const mine = results.filter((r) => r.round === round);
      const pinnedWins = mine.filter((r) => r.op !== 'patch-unpinned' && r.status === 200);
      assert.ok(
        pinnedWins.length <= 1,
        `round ${round}: ${pinnedWins.length} writes pinned to the same resourceVersion all succeeded`,
      );
      assert.ok(
        mine.some((r) => r.status === 200),
        `round ${round}: no write succeeded (livelock or false conflicts)`,
      );
    }
    assert.ok(watchComplete, 'the watch carried the last version of every object');
    assert.deepEqual(problems, []);
    assert.equal(leaks, 0);
    assert.equal(losses, 0);
  } finally {
    watch?.close();
    for (const c of writers) c.close();
    admin.close();
  }
}

async function tempControlPlane(dir: TempDir, extra: { store?: 'etcd'; etcdEndpoints?: string[] } = {}) {
  const cp = await startControlPlane({
    dataDir: join(dir.path, 'data'),
    apiPort: 0,
    xdsPort: 0,
    logger: pino({ level: 'silent' }),
    ...extra,
  });
  cleanups.push(() => cp.destroy());
  return cp;
}

test('8 writers racing on the SQLite store: each write wins or gets 409, the watch sees every win in order', async () => {
  const dir = makeTempDir('race-sqlite');
  cleanups.push(() => dir.remove());
  await runRace(await tempControlPlane(dir), 'sqlite');
});

test('8 writers racing on the etcd store: each write wins or gets 409, the watch sees every win in order', async () => {
  const dir = makeTempDir('race-etcd');
  cleanups.push(() => dir.remove());
  const etcd: EtcdProcess = await startEtcd({ dataDir: join(dir.path, 'etcd') });
  cleanups.push(() => etcd.stop());
  await runRace(await tempControlPlane(dir, { store: 'etcd', etcdEndpoints: etcd.endpoints }), 'etcd');
});
