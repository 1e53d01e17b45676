import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type EtcdProcess, startEtcd } from './etcd-process.js';
import { openEtcdStore } from './etcd-store.js';
import { type AckedWrite, runAndKillWriter } from './testdata/crash-harness.js';
import { StoreError, type WatchEvent } from './types.js';

let etcd: EtcdProcess | undefined;
before(async () => {
  etcd = await startEtcd();
});
after(() => etcd?.stop());

function running(): EtcdProcess {
  if (!etcd) throw new Error('etcd did not start');
  return etcd;
}

test('etcd: every write acknowledged by a SIGKILLed writer is present and intact', async (t) => {
  const prefix = `slt-store-crash-${process.pid}`;
  const store = openEtcdStore({ endpoints: running().endpoints, prefix });
  t.after(() => store.close());
  const all: AckedWrite[] = [];
  for (let round = 0; round < 3; round++) {
    all.push(
      ...(await runAndKillWriter(
        { backend: 'etcd', endpoints: running().endpoints, prefix, historyLimit: 10_000 },
        `r${round}`,
        Math.floor(Math.random() * 300),
      )),
    );
    let lastCounter: AckedWrite | undefined;
    for (const w of all) {
      if (w.name === 'counter') {
        lastCounter = w;
        continue;
      }
      const got = await store.get({ kind: 'ConfigMap', namespace: 'crash', name: w.name });
      assert.ok(got, `round ${round}: acknowledged ${w.name} is missing`);
      assert.deepEqual(got.spec, w.spec);
      assert.equal(got.metadata.resourceVersion, w.resourceVersion);
    }
    if (lastCounter) {
      const counter = await store.get({ kind: 'ConfigMap', namespace: 'crash', name: 'counter' });
      assert.ok(counter && Number(counter.metadata.resourceVersion) >= Number(lastCounter.resourceVersion));
    }
  }
});

test('etcd killed and restarted: writes meanwhile are Unavailable, a watcher resumes with no gap and no repeat', async (t) => {
  const e = running();
  const prefix = `slt-store-restart-${process.pid}`;
  const store = openEtcdStore({ endpoints: e.endpoints, prefix, callTimeoutMs: 1000 });
  t.after(() => store.close());
  const from = await store.revision();
  const events: WatchEvent[] = [];
  const errors: Error[] = [];
  const w = store.watch(
    { fromRevision: from },
    (ev) => events.push(ev),
    (err) => errors.push(err),
  );
  t.after(() => w.close());
  const acked: string[] = [];
  const entry = (name: string) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'r' },
    spec: { name },
  });
  for (let i = 0; i < 5; i++) acked.push((await store.create(entry(`before-${i}`))).metadata.resourceVersion);
  e.kill();
  await assert.rejects(
    store.create(entry('while-down')),
    (err: unknown) => err instanceof StoreError && err.code === 'Unavailable',
  );
  await e.restart();
  const deadline = Date.now() + 15_000;
  for (let i = 0; i < 5; i++) {
    for (;;) {
      try {
        acked.push((await store.create(entry(`after-${i}`))).metadata.resourceVersion);
        break;
      } catch (err) {
        if (!(err instanceof StoreError && err.code === 'Unavailable') || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
  while (events.length < acked.length && errors.length === 0 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(errors, []);
  assert.deepEqual(
    events.map((ev) => ev.revision),
    acked,
  );
  assert.equal(await store.get({ kind: 'ConfigMap', namespace: 'r', name: 'while-down' }), undefined);
});

test('startEtcd: stop() is idempotent and removes the data dir it made', async () => {
  const { existsSync } = await import('node:fs');
  const other = await startEtcd();
  assert.ok(existsSync(other.dataDir));
  const res = await fetch(`${other.endpoints[0]}/health`);
  assert.deepEqual(await res.json(), { health: 'true' });
  await other.stop();
  await other.stop();
  assert.equal(existsSync(other.dataDir), false);
  await assert.rejects(fetch(`${other.endpoints[0]}/health`));
});
