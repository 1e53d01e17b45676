/**
 * The one conformance suite every Store backend must pass. `registerStoreConformance(backend)`
 * registers node:test tests; call it at the top level of a `*.test.ts` file.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Resource } from '@sluice/config';
import type { PeerSpec } from './peer-spec.js';
import { type Store, type StoredObject, StoreError, type WatchEvent, type WatchOptions } from './types.js';

/** One empty store, as several clients would share it. */
export interface ConformanceSpace {
  /** Opens a new client on this store (another SQLite connection, another etcd client). */
  open(): Promise<Store>;
  /** How a child process opens this same store. */
  peer: PeerSpec;
  /** Removes what the space holds (files, keys). Called after every client is closed. */
  destroy(): Promise<void>;
}

export interface ConformanceBackend {
  name: string;
  /** A new empty store that keeps the last `historyLimit` events for watchers. */
  createSpace(opts: { historyLimit: number }): Promise<ConformanceSpace>;
}

type TestContext = { after(fn: () => unknown): void };

const WAIT_MS = 15_000;

function serviceEntry(
  name: string,
  opts: { namespace?: string; labels?: Record<string, string>; hosts?: string[] } = {},
): Resource {
  const metadata: Resource['metadata'] = { name, namespace: opts.namespace ?? 'default' };
  if (opts.labels) metadata.labels = opts.labels;
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata,
    spec: { hosts: opts.hosts ?? [`${name}.example.com`], location: 'MESH_EXTERNAL', resolution: 'DNS' },
  };
}

function keyOf(o: Resource): { kind: string; namespace: string; name: string } {
  return { kind: o.kind, namespace: o.metadata.namespace ?? '', name: o.metadata.name };
}

async function rejectsWith(p: Promise<unknown>, code: StoreError['code']): Promise<StoreError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected StoreError ${code}, but the call succeeded`);
}

/** Watches until `done(events)` holds; fails on a watch error or after WAIT_MS. */
function watchUntil(store: Store, opts: WatchOptions, done: (events: WatchEvent[]) => boolean): Promise<WatchEvent[]> {
  return new Promise((resolve, reject) => {
    const events: WatchEvent[] = [];
    const timer = setTimeout(() => {
      w.close();
      reject(new Error(`watch: condition not reached within ${WAIT_MS} ms; got ${events.length} events`));
    }, WAIT_MS);
    const w = store.watch(
      opts,
      (e) => {
        events.push(e);
        if (done(events)) {
          clearTimeout(timer);
          w.close();
          resolve(events);
        }
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** Resolves with the error a watch ends with; fails if it delivers an event or nothing happens in time. */
function watchError(store: Store, opts: WatchOptions): Promise<Error> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      w.close();
      reject(new Error(`watch: no error within ${WAIT_MS} ms`));
    }, WAIT_MS);
    const w = store.watch(
      opts,
      (e) => {
        clearTimeout(timer);
        w.close();
        reject(new Error(`watch delivered ${e.type} at ${e.revision} instead of failing`));
      },
      (err) => {
        clearTimeout(timer);
        resolve(err);
      },
    );
  });
}

/** A store client in a child process (testdata/store-peer.ts). */
class PeerProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer = '';
  private readonly waiting: ((msg: Record<string, unknown>) => void)[] = [];
  readonly messages: Record<string, unknown>[] = [];
  readonly events: WatchEvent[] = [];
  private stderr = '';

  constructor(spec: PeerSpec) {
    const script = fileURLToPath(new URL('./testdata/store-peer.ts', import.meta.url));
    this.child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(spec)], { stdio: 'pipe' });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.child.stdout.on('data', (d: Buffer) => {
      this.buffer += d.toString();
      for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
        const msg = JSON.parse(this.buffer.slice(0, nl)) as Record<string, unknown>;
        this.buffer = this.buffer.slice(nl + 1);
        if (msg.event) this.events.push(msg.event as WatchEvent);
        else this.waiting.shift()?.(msg);
      }
    });
  }

  /** The next non-event message (the reply to the oldest pending command, or the ready line). */
  next(): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`store peer did not answer in ${WAIT_MS} ms; stderr: ${this.stderr}`)),
        WAIT_MS,
      );
      this.waiting.push((m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
  }

  async send(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
    const reply = this.next();
    this.child.stdin.write(`${JSON.stringify(cmd)}\n`);
    return reply;
  }

  async untilEvents(n: number): Promise<WatchEvent[]> {
    const deadline = Date.now() + WAIT_MS;
    while (this.events.length < n) {
      if (Date.now() > deadline)
        throw new Error(`store peer saw ${this.events.length} of ${n} events; stderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.events;
  }

  /** Asks the peer to close its store and waits for it to exit (bounded). */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.write(`${JSON.stringify({ op: 'close' })}\n`);
    const timer = setTimeout(() => this.kill(), WAIT_MS);
    await exited;
    clearTimeout(timer);
    assert.equal(this.child.exitCode, 0, `store peer failed: ${this.stderr}`);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

export function registerStoreConformance(backend: ConformanceBackend): void {
  /** A fresh space with one open client; everything is closed and removed after the test. */
  async function setup(
    t: TestContext,
    historyLimit = 1000,
  ): Promise<{ store: Store; space: ConformanceSpace; stores: Store[] }> {
    const space = await backend.createSpace({ historyLimit });
    const stores: Store[] = [];
    t.after(async () => {
      for (const s of stores) await s.close();
      await space.destroy();
    });
    const open = space.open.bind(space);
    space.open = async () => {
      const s = await open();
      stores.push(s);
      return s;
    };
    return { store: await space.open(), space, stores };
  }

  describe(`Store conformance: ${backend.name}`, () => {
    test('create fills in the metadata the store owns, and get returns the same object', async (t) => {
      const { store } = await setup(t);
      const before = Number(await store.revision());
      const input = serviceEntry('mysql', { labels: { app: 'mysql' } });
      const inputCopy = structuredClone(input);
      const created = await store.create({
        ...input,
        metadata: { ...input.metadata, uid: 'mine', generation: 7, resourceVersion: '99' },
      });
      assert.match(created.metadata.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.notEqual(created.metadata.uid, 'mine');
      assert.match(created.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.ok(!Number.isNaN(Date.parse(created.metadata.creationTimestamp)));
      assert.equal(created.metadata.generation, 1);
      assert.ok(
        Number(created.metadata.resourceVersion) > before,
        'resourceVersion is a revision after the previous one',
      );
      assert.equal(await store.revision(), created.metadata.resourceVersion);
      assert.deepEqual(created.spec, input.spec);
      assert.deepEqual(created.metadata.labels, { app: 'mysql' });
      assert.deepEqual(input, inputCopy, 'the caller’s object is not modified');
      assert.deepEqual(await store.get(keyOf(input)), created);
    });

    test('objects handed out are copies: changing one does not change the store', async (t) => {
      const { store } = await setup(t);
      const created = await store.create(serviceEntry('a'));
      (created.spec as { hosts: string[] }).hosts.push('evil.example.com');
      const got = await store.get(keyOf(created));
      assert.ok(got);
      assert.deepEqual((got.spec as { hosts: string[] }).hosts, ['a.example.com']);
    });

    test('error codes: AlreadyExists, NotFound, and get of a missing key is undefined', async (t) => {
      const { store } = await setup(t);
      await store.create(serviceEntry('a'));
      await rejectsWith(store.create(serviceEntry('a')), 'AlreadyExists');
      assert.equal(await store.get({ kind: 'ServiceEntry', namespace: 'default', name: 'missing' }), undefined);
      await rejectsWith(store.update(serviceEntry('missing')), 'NotFound');
      await rejectsWith(store.delete({ kind: 'ServiceEntry', namespace: 'default', name: 'missing' }), 'NotFound');
      await rejectsWith(store.delete({ kind: 'ServiceEntry', namespace: 'other', name: 'a' }), 'NotFound');
    });

    test('bad input is Invalid and changes nothing', async (t) => {
      const { store } = await setup(t);
      const rev = await store.revision();
      const bad: Resource[] = [
        { ...serviceEntry('a'), metadata: { name: 'a/b', namespace: 'default' } },
        { ...serviceEntry('a'), metadata: { name: '', namespace: 'default' } },
        { ...serviceEntry('a'), kind: '' },
        { ...serviceEntry('a'), apiVersion: undefined as unknown as string },
        { ...serviceEntry('a'), metadata: { name: 'a', labels: { n: 1 as unknown as string } } },
      ];
      for (const obj of bad) {
        const err = await rejectsWith(store.create(obj), 'Invalid');
        assert.match(err.message, /^(kind|apiVersion|metadata\.(name|labels)):/, 'the message names the field');
      }
      await rejectsWith(store.list({ kind: 'ServiceEntry', labelSelector: 'app in (' }), 'Invalid');
      assert.throws(
        () =>
          store.watch(
            { fromRevision: 'latest' },
            () => {},
            () => {},
          ),
        { code: 'Invalid' },
      );
      assert.equal(await store.revision(), rev);
    });

    test('optimistic concurrency: a stale resourceVersion is a Conflict on update and delete', async (t) => {
      const { store } = await setup(t);
      const v1 = await store.create(serviceEntry('a'));
      const v2 = await store.update({ ...v1, spec: { hosts: ['b.example.com'] } });
      assert.ok(Number(v2.metadata.resourceVersion) > Number(v1.metadata.resourceVersion));
      const conflict = await rejectsWith(store.update({ ...v1, spec: { hosts: ['c.example.com'] } }), 'Conflict');
      assert.match(conflict.message, /modified/);
      await rejectsWith(store.delete(keyOf(v1), { resourceVersion: v1.metadata.resourceVersion }), 'Conflict');
      await rejectsWith(
        store.update({ ...v2, metadata: { ...v2.metadata, uid: '00000000-0000-4000-8000-000000000000' } }),
        'Conflict',
      );
      assert.deepEqual(
        (await store.get(keyOf(v1)))?.spec,
        { hosts: ['b.example.com'] },
        'rejected writes change nothing',
      );

      const { resourceVersion: _rv, ...noVersion } = v1.metadata;
      const v3 = await store.update({ ...v1, metadata: noVersion, spec: { hosts: ['d.example.com'] } });
      assert.deepEqual(v3.spec, { hosts: ['d.example.com'] }, 'an update without resourceVersion is unconditional');

      const deleted = await store.delete(keyOf(v3), { resourceVersion: v3.metadata.resourceVersion });
      assert.ok(
        Number(deleted.metadata.resourceVersion) > Number(v3.metadata.resourceVersion),
        'deletion has its own revision',
      );
      assert.equal(deleted.metadata.uid, v1.metadata.uid);
      assert.equal(await store.revision(), deleted.metadata.resourceVersion);
      assert.equal(await store.get(keyOf(v1)), undefined);

      const again = await store.create(serviceEntry('a'));
      assert.notEqual(again.metadata.uid, v1.metadata.uid, 'a re-created object has a new uid');
      await rejectsWith(store.update({ ...again, metadata: { ...again.metadata, uid: v1.metadata.uid } }), 'Conflict');
    });

    test('generation: +1 when spec or data changes, not for labels or status; uid and creationTimestamp kept', async (t) => {
      const { store } = await setup(t);
      const v1 = await store.create(serviceEntry('a'));
      const v2 = await store.update({ ...v1, metadata: { ...v1.metadata, labels: { x: 'y' } }, status: { ok: true } });
      assert.equal(v2.metadata.generation, 1);
      const v3 = await store.update({ ...v2, spec: { hosts: ['z.example.com'] } });
      assert.equal(v3.metadata.generation, 2);
      assert.equal(v3.metadata.uid, v1.metadata.uid);
      assert.equal(v3.metadata.creationTimestamp, v1.metadata.creationTimestamp);
      const same = await store.update({ ...v3, spec: { hosts: ['z.example.com'] } });
      assert.equal(
        same.metadata.resourceVersion,
        v3.metadata.resourceVersion,
        'an update that changes nothing writes nothing',
      );
      assert.equal(await store.revision(), v3.metadata.resourceVersion);

      const secret = await store.create({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's', namespace: 'default' },
        data: { k: 'YQ==' },
      });
      const secret2 = await store.update({ ...secret, data: { k: 'Yg==' } });
      assert.equal(secret2.metadata.generation, 2);
    });

    test('list by kind, namespace and label selector, at a revision; cluster-scoped objects use namespace ""', async (t) => {
      const { store } = await setup(t);
      await store.create(serviceEntry('b', { namespace: 'ns1', labels: { app: 'db', tier: 'back' } }));
      await store.create(serviceEntry('a', { namespace: 'ns1', labels: { app: 'web' } }));
      await store.create(serviceEntry('c', { namespace: 'ns2', labels: { app: 'db' } }));
      await store.create({
        apiVersion: 'sluice.dev/v1alpha1',
        kind: 'MeshConfig',
        metadata: { name: 'mesh' },
        spec: {},
      });
      const names = (items: StoredObject[]) => items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);

      const all = await store.list({ kind: 'ServiceEntry' });
      assert.deepEqual(names(all.items), ['ns1/a', 'ns1/b', 'ns2/c']);
      assert.equal(all.revision, await store.revision());
      assert.deepEqual(names((await store.list({ kind: 'ServiceEntry', namespace: 'ns1' })).items), ['ns1/a', 'ns1/b']);
      assert.deepEqual(names((await store.list({ kind: 'ServiceEntry', labelSelector: 'app=db' })).items), [
        'ns1/b',
        'ns2/c',
      ]);
      assert.deepEqual(names((await store.list({ kind: 'ServiceEntry', labelSelector: 'app=db,!tier' })).items), [
        'ns2/c',
      ]);
      assert.deepEqual(
        names((await store.list({ kind: 'ServiceEntry', labelSelector: 'app in (web,db),tier' })).items),
        ['ns1/b'],
      );
      assert.deepEqual(names((await store.list({ kind: 'ServiceEntry', namespace: 'ns3' })).items), []);
      assert.deepEqual(names((await store.list({ kind: 'MeshConfig' })).items), ['/mesh']);
      assert.deepEqual(names((await store.list({ kind: 'MeshConfig', namespace: '' })).items), ['/mesh']);
      assert.ok(await store.get({ kind: 'MeshConfig', namespace: '', name: 'mesh' }));
    });

    test('watch from a list revision delivers ADDED, MODIFIED and DELETED in order', async (t) => {
      const { store } = await setup(t);
      await store.create(serviceEntry('before'));
      const { revision } = await store.list({ kind: 'ServiceEntry' });
      const seen = watchUntil(store, { fromRevision: revision }, (ev) => ev.length === 3);
      const a = await store.create(serviceEntry('a'));
      const a2 = await store.update({ ...a, spec: { hosts: ['x.example.com'] } });
      const gone = await store.delete(keyOf(a));
      const events = await seen;
      assert.deepEqual(
        events.map((e) => [e.type, e.object.metadata.name, e.revision, e.object.metadata.resourceVersion]),
        [
          ['ADDED', 'a', a.metadata.resourceVersion, a.metadata.resourceVersion],
          ['MODIFIED', 'a', a2.metadata.resourceVersion, a2.metadata.resourceVersion],
          ['DELETED', 'a', gone.metadata.resourceVersion, gone.metadata.resourceVersion],
        ],
      );
      assert.deepEqual(events[1]?.object, a2);
      assert.deepEqual(events[2]?.object.spec, { hosts: ['x.example.com'] }, 'DELETED carries the last stored state');
    });

    test('watch from an older revision replays the history after it', async (t) => {
      const { store } = await setup(t);
      const a = await store.create(serviceEntry('a'));
      const b = await store.create(serviceEntry('b'));
      await store.delete(keyOf(a));
      const events = await watchUntil(store, { fromRevision: a.metadata.resourceVersion }, (ev) => ev.length === 2);
      assert.deepEqual(
        events.map((e) => [e.type, e.object.metadata.name]),
        [
          ['ADDED', 'b'],
          ['DELETED', 'a'],
        ],
      );
      assert.equal(events[0]?.revision, b.metadata.resourceVersion);
    });

    test('watch filters by kind, namespace and labels; label changes become ADDED/DELETED for the selector', async (t) => {
      const { store } = await setup(t);
      const from = await store.revision();
      const byKind = watchUntil(store, { fromRevision: from, kind: 'Secret' }, (ev) => ev.length === 1);
      const byNs = watchUntil(
        store,
        { fromRevision: from, kind: 'ServiceEntry', namespace: 'ns2' },
        (ev) => ev.length === 1,
      );
      const byLabel = watchUntil(store, { fromRevision: from, labelSelector: 'app=db' }, (ev) => ev.length === 4);
      const x = await store.create(serviceEntry('x', { namespace: 'ns1', labels: { app: 'web' } }));
      await store.create(serviceEntry('y', { namespace: 'ns2', labels: { app: 'db' } }));
      await store.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'ns1' }, data: {} });
      const x2 = await store.update({ ...x, metadata: { ...x.metadata, labels: { app: 'db' } } });
      const x3 = await store.update({ ...x2, metadata: { ...x2.metadata, labels: { app: 'web' } } });
      await store.update({ ...x3, spec: { hosts: ['ignored.example.com'] } });
      await store.delete({ kind: 'ServiceEntry', namespace: 'ns2', name: 'y' });

      assert.deepEqual(
        (await byKind).map((e) => [e.type, e.object.kind]),
        [['ADDED', 'Secret']],
      );
      assert.deepEqual(
        (await byNs).map((e) => [e.type, e.object.metadata.name]),
        [['ADDED', 'y']],
      );
      assert.deepEqual(
        (await byLabel).map((e) => [e.type, e.object.metadata.name, e.object.metadata.labels?.app]),
        [
          ['ADDED', 'y', 'db'],
          ['ADDED', 'x', 'db'],
          ['DELETED', 'x', 'web'],
          ['DELETED', 'y', 'db'],
        ],
      );
    });

    test('concurrent writers on two clients: a watcher sees every acknowledged write once, in order, no gaps', async (t) => {
      const { store, space } = await setup(t);
      const other = await space.open();
      const watcherClient = await space.open();
      const from = await store.revision();
      const acked: { revision: string; type: string; name: string }[] = [];
      const events: WatchEvent[] = [];
      let failure: Error | undefined;
      const w = watcherClient.watch(
        { fromRevision: from },
        (e) => events.push(e),
        (err) => {
          failure = err;
        },
      );
      t.after(() => w.close());

      async function writer(client: Store, id: string): Promise<void> {
        for (let i = 0; i < 15; i++) {
          const name = `${id}-${i % 5}`;
          const current = await client.get({ kind: 'ServiceEntry', namespace: 'default', name });
          if (!current) {
            const o = await client.create(serviceEntry(name));
            acked.push({ revision: o.metadata.resourceVersion, type: 'ADDED', name });
          } else if (i % 3 === 0) {
            const o = await client.delete(keyOf(current), { resourceVersion: current.metadata.resourceVersion });
            acked.push({ revision: o.metadata.resourceVersion, type: 'DELETED', name });
          } else {
            const o = await client.update({ ...current, spec: { hosts: [`${name}-${i}.example.com`] } });
            acked.push({ revision: o.metadata.resourceVersion, type: 'MODIFIED', name });
          }
        }
      }
      await Promise.all(['a', 'b', 'c'].flatMap((id) => [writer(store, `${id}1`), writer(other, `${id}2`)]));
      const last = acked.map((a) => Number(a.revision)).reduce((m, r) => Math.max(m, r), 0);
      const deadline = Date.now() + WAIT_MS;
      while (!failure && events.length < acked.length && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      assert.equal(failure, undefined);
      const expected = [...acked].sort((x, y) => Number(x.revision) - Number(y.revision));
      assert.deepEqual(
        events.map((e) => ({ revision: e.revision, type: e.type, name: e.object.metadata.name })),
        expected,
      );
      assert.equal(String(last), events.at(-1)?.revision);

      const state = new Map<string, StoredObject>();
      for (const e of events) {
        if (e.type === 'DELETED') state.delete(e.object.metadata.name);
        else state.set(e.object.metadata.name, e.object);
      }
      const listed = await store.list({ kind: 'ServiceEntry' });
      assert.deepEqual(
        listed.items,
        [...state.values()].sort((x, y) => x.metadata.name.localeCompare(y.metadata.name)),
        'replaying the events rebuilds exactly what list returns',
      );
    });

    test('watching from a compacted revision is Gone; relist then watch from the list revision works', async (t) => {
      const { store } = await setup(t, 10);
      const start = await store.revision();
      for (let i = 0; i < 30; i++) await store.create(serviceEntry(`s${i}`));
      const err = await watchError(store, { fromRevision: start });
      assert.ok(err instanceof StoreError, String(err));
      assert.equal(err.code, 'Gone');
      assert.match(err.message, /resource version too old.*relist/);

      const listed = await store.list({ kind: 'ServiceEntry' });
      assert.equal(listed.items.length, 30);
      const next = watchUntil(store, { fromRevision: listed.revision }, (ev) => ev.length === 1);
      const late = await store.create(serviceEntry('late'));
      assert.deepEqual(
        (await next).map((e) => [e.type, e.object.metadata.name, e.revision]),
        [['ADDED', 'late', late.metadata.resourceVersion]],
      );
    });

    test('a closed watcher gets nothing more; close() of watcher and store is idempotent; a closed store is Unavailable', async (t) => {
      const { store, space } = await setup(t);
      const other = await space.open();
      const got: WatchEvent[] = [];
      const from = await store.revision();
      const w = store.watch({ fromRevision: from }, (e) => got.push(e), assert.fail);
      w.close();
      w.close();
      await other.create(serviceEntry('after-close'));
      const marker = await watchUntil(store, { fromRevision: from }, (ev) =>
        ev.some((e) => e.object.metadata.name === 'after-close'),
      );
      assert.ok(marker.length >= 1);
      assert.deepEqual(got, []);

      await other.close();
      await other.close();
      await rejectsWith(other.get({ kind: 'ServiceEntry', namespace: 'default', name: 'x' }), 'Unavailable');
      await rejectsWith(other.create(serviceEntry('y')), 'Unavailable');
      await rejectsWith(other.revision(), 'Unavailable');
      assert.ok(
        await store.get({ kind: 'ServiceEntry', namespace: 'default', name: 'after-close' }),
        'other clients still work',
      );
    });

    test('two clients on one store see each other’s writes and watch events', async (t) => {
      const { store, space } = await setup(t);
      const other = await space.open();
      const from = await other.revision();
      const seen = watchUntil(other, { fromRevision: from, kind: 'ServiceEntry' }, (ev) => ev.length === 2);
      const a = await store.create(serviceEntry('a'));
      assert.deepEqual(await other.get(keyOf(a)), a);
      await other.update({ ...a, spec: { hosts: ['b.example.com'] } });
      await rejectsWith(store.update(a), 'Conflict');
      assert.deepEqual(
        (await seen).map((e) => e.type),
        ['ADDED', 'MODIFIED'],
      );
    });

    test('a client in another process sees this process’s writes and events, and the other way round', async (t) => {
      const { store, space } = await setup(t);
      const peer = new PeerProcess(space.peer);
      t.after(() => peer.kill());
      assert.deepEqual(await peer.next(), { ready: true });
      const from = await store.revision();
      assert.deepEqual(await peer.send({ op: 'watch', fromRevision: from, kind: 'ServiceEntry' }), {
        reply: 'watching',
      });
      const seenHere = watchUntil(store, { fromRevision: from }, (ev) => ev.length === 2);

      const mine = await store.create(serviceEntry('from-parent'));
      const reply = await peer.send({ op: 'create', obj: serviceEntry('from-child') });
      const theirs = reply.reply as StoredObject;
      assert.ok(theirs, JSON.stringify(reply));
      assert.deepEqual(await peer.send({ op: 'get', key: keyOf(mine) }), { reply: mine });
      assert.deepEqual(await store.get(keyOf(theirs)), theirs);

      const order = [mine, theirs].sort(
        (x, y) => Number(x.metadata.resourceVersion) - Number(y.metadata.resourceVersion),
      );
      const expected = order.map((o) => ['ADDED', o.metadata.name, o.metadata.resourceVersion]);
      assert.deepEqual(
        (await seenHere).map((e) => [e.type, e.object.metadata.name, e.revision]),
        expected,
      );
      assert.deepEqual(
        (await peer.untilEvents(2)).map((e) => [e.type, e.object.metadata.name, e.revision]),
        expected,
      );
      await peer.close();
    });
  });
}
