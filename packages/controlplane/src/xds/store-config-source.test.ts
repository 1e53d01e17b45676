import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { Resource } from '@sluice/config';
import { openSqliteStore, type Store, StoreError } from '@sluice/store';
import { TypeUrl } from '@sluice/xds';
import { bookinfo, meshRegistryOnly, mysqlExternal } from '../translate/testdata/seed.js';
import { AdsTestClient, decodeAll } from './ads-client.js';
import { StoreConfigSource } from './store-config-source.js';
import { XdsServer } from './xds-server.js';

function stripStored(r: Resource): Resource {
  const { uid: _u, resourceVersion: _rv, generation: _g, creationTimestamp: _c, ...metadata } = r.metadata;
  return { ...r, metadata: { ...metadata, namespace: r.metadata.namespace ?? '' } } as Resource;
}

function tempStore(): Store {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-xds-'));
  const store = openSqliteStore(path.join(dir, 'store.db'));
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
}

function nextChange(source: StoreConfigSource): Promise<void> {
  return new Promise((resolve) => {
    const off = source.onChange(() => {
      off();
      resolve();
    });
  });
}

test('lists what is stored, then follows writes and deletes', async () => {
  const store = tempStore();
  for (const r of [meshRegistryOnly, ...bookinfo]) await store.create(stripStored(r));
  const source = new StoreConfigSource(store);
  after(() => source.close());
  await source.ready();
  const kinds = source.snapshot().resources.map((r) => r.kind);
  assert.equal(kinds.filter((k) => k === 'Service').length, 4);
  assert.equal(kinds.filter((k) => k === 'MeshConfig').length, 1);
  const changed = nextChange(source);
  const created = await store.create(stripStored(mysqlExternal));
  await changed;
  await new Promise((r) => setTimeout(r, 0));
  assert.ok(source.snapshot().resources.some((r) => r.metadata.name === 'mysql-external'));
  assert.equal(source.snapshot().revision, created.metadata.resourceVersion);
  const gone = nextChange(source);
  await store.delete({ kind: 'ServiceEntry', namespace: 'default', name: 'mysql-external' });
  await gone;
  assert.ok(!source.snapshot().resources.some((r) => r.metadata.name === 'mysql-external'));
});

test('a watch that ends with Gone is followed by a fresh list', async () => {
  const store = tempStore();
  await store.create(stripStored(meshRegistryOnly));
  let failFirst = true;
  // The real store, except that the first watch reports "resource version too old".
  const flaky: Store = Object.assign(Object.create(store), {
    watch: (...args: Parameters<Store['watch']>) => {
      if (failFirst) {
        failFirst = false;
        setImmediate(() => args[2](new StoreError('Gone', 'resource version too old')));
        return { close() {} };
      }
      return store.watch(...args);
    },
    list: store.list.bind(store),
    revision: store.revision.bind(store),
  });
  const source = new StoreConfigSource(flaky);
  after(() => source.close());
  await source.ready();
  await store.create(stripStored(mysqlExternal));
  for (let i = 0; i < 100 && !source.snapshot().resources.some((r) => r.kind === 'ServiceEntry'); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(source.snapshot().resources.some((r) => r.metadata.name === 'mysql-external'));
});

test('a ServiceEntry written to the store reaches a connected proxy, which acks that revision', async () => {
  const store = tempStore();
  for (const r of [meshRegistryOnly, ...bookinfo]) await store.create(stripStored(r));
  const source = new StoreConfigSource(store);
  const server = new XdsServer({ source, debounceMs: 10 });
  const port = await server.listen(['127.0.0.1'], 0);
  const client = new AdsTestClient({
    address: `127.0.0.1:${port}`,
    nodeId: 'sidecar~10.233.77.15~ratings-v2-mysql-0.default~default.svc.cluster.local',
    metadata: { LABELS: { app: 'ratings', version: 'v2-mysql' } },
  });
  after(async () => {
    client.close();
    await server.close();
    source.close();
  });
  client.send({ typeUrl: TypeUrl.Listener });
  const first = await client.next(TypeUrl.Listener);
  assert.ok(!decodeAll(first).some((l) => l.name === '10.233.77.250_3306'));
  client.ack(first);
  const created = await store.create(stripStored(mysqlExternal));
  const second = await client.next(TypeUrl.Listener);
  assert.ok(decodeAll(second).some((l) => l.name === '10.233.77.250_3306'));
  client.ack(second);
  const res = await server.waitForAcks({ version: created.metadata.resourceVersion, timeoutMs: 5000 });
  assert.deepEqual(res.notAcked, []);
  assert.equal(res.acked.length, 1);
});
