import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { Resource } from '@sluice/config';
import { StaticConfigSource, XdsServer } from '@sluice/controlplane';
import { TypeUrl } from '@sluice/xds';
import type { ProxyLogger } from '../logger.js';
import { AdsClient, type ResponseVerdict } from './ads-client.js';

// The control plane's xDS server over real gRPC; the client as the proxy runs it.
const NODE_ID = 'sidecar~10.233.91.15~ratings-0.default~default.svc.cluster.local';
const NODE_META = { NAMESPACE: 'default', NAME: 'ratings-0', LABELS: { app: 'ratings' } };

let uid = 0;
const meta = (name: string, namespace?: string) => ({
  name,
  ...(namespace ? { namespace } : {}),
  uid: `00000000-0000-0000-0000-${String(++uid).padStart(12, '0')}`,
  resourceVersion: String(uid),
  generation: 1,
  creationTimestamp: '2026-01-01T00:00:00Z',
});

const mesh: Resource = {
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'MeshConfig',
  metadata: meta('mesh'),
  spec: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } },
};
const service = (name: string, ip: string): Resource => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { ...meta(name, 'default'), labels: { app: name } },
  spec: { selector: { app: name }, clusterIP: ip, ports: [{ name: 'http', port: 9080 }] },
});
const pod = (name: string, ip: string, app: string): Resource => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { ...meta(name, 'default'), labels: { app } },
  spec: { containers: [{ name: 'app', image: 'x', ports: [{ containerPort: 9080, name: 'http' }] }] },
  status: { phase: 'Running', podIP: ip },
});
const serviceEntry = (host: string, address: string): Resource => ({
  apiVersion: 'networking.istio.io/v1alpha3',
  kind: 'ServiceEntry',
  metadata: meta(host.replace(/\./g, '-'), 'default'),
  spec: {
    hosts: [host],
    addresses: [`${address}/32`],
    ports: [{ name: 'tcp', number: 3306, protocol: 'tcp' }],
    location: 'MESH_EXTERNAL',
  },
});

const base: Resource[] = [
  mesh,
  service('ratings', '240.241.91.13'),
  service('reviews', '240.241.91.12'),
  pod('ratings-0', '10.233.91.15', 'ratings'),
  pod('reviews-0', '10.233.91.12', 'reviews'),
];
const mysql = serviceEntry('mysqldb.example', '10.233.91.250');
const pg = serviceEntry('pg.example', '10.233.91.251');

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startServer(resources: Resource[], port = 0) {
  const source = new StaticConfigSource(resources);
  const server = new XdsServer({ source, debounceMs: 5 });
  const bound = await server.listen(['127.0.0.1'], port);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    server.destroy();
  };
  cleanups.push(stop);
  return { source, server, port: bound, stop };
}

type Delivery = { resources: Record<string, unknown>[]; version: string };

/** An AdsClient whose onResponse records every full set handed over and asks EDS for EDS clusters, like the proxy. */
function startClient(
  port: number,
  opts: { protocol?: 'delta' | 'sotw'; reject?: (typeUrl: string, names: string[]) => string | undefined } = {},
) {
  const delivered = new Map<string, Delivery[]>();
  const log: { msg: string; obj: Record<string, unknown> }[] = [];
  const at = (obj: object, msg: string) => void log.push({ msg, obj: obj as Record<string, unknown> });
  const logger: ProxyLogger = { level: 'debug', debug: at, info: at, warn: at, error: at };
  const waiters: (() => void)[] = [];
  let client: AdsClient;
  const onResponse = (typeUrl: string, resources: Record<string, unknown>[], version: string): ResponseVerdict => {
    const list = delivered.get(typeUrl) ?? [];
    list.push({ resources, version });
    delivered.set(typeUrl, list);
    for (const w of waiters.splice(0)) w();
    const why = opts.reject?.(typeUrl, resources.map(nameOf));
    if (why) return { accepted: false, detail: why };
    if (typeUrl === TypeUrl.Cluster) {
      const eds = resources.filter((c) => c.type === 'EDS').map((c) => nameOf(c));
      client.subscribe(TypeUrl.ClusterLoadAssignment, eds);
    }
    return { accepted: true };
  };
  client = new AdsClient({
    target: `127.0.0.1:${port}`,
    node: { id: NODE_ID, metadata: toStruct(NODE_META) },
    logger,
    onResponse,
    backoff: { initialMs: 20, maxMs: 100 },
    ...(opts.protocol ? { protocol: opts.protocol } : {}),
  });
  client.start();
  cleanups.push(() => client.close());
  /** Resolves with the newest set of a type once `pred` holds for it. */
  const until = (typeUrl: string, pred: (d: Delivery) => boolean, what: string): Promise<Delivery> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 5000);
      const check = () => {
        const last = delivered.get(typeUrl)?.at(-1);
        if (last && pred(last)) {
          clearTimeout(timer);
          resolve(last);
        } else waiters.push(check);
      };
      check();
    });
  return { client, delivered, log, until };
}

function nameOf(r: Record<string, unknown>): string {
  return String(r.name ?? r.cluster_name ?? '');
}
const names = (d: Delivery) => d.resources.map(nameOf).sort();
const hosts = (d: Delivery) => Object.keys((d.resources[0] as { table?: object } | undefined)?.table ?? {}).sort();

function toStruct(o: Record<string, unknown>): { fields: Record<string, unknown> } {
  const value = (v: unknown): unknown => {
    if (typeof v === 'string') return { stringValue: v };
    return { structValue: toStruct(v as Record<string, unknown>) };
  };
  return { fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, value(v)])) };
}

/** The debug lines of delta responses received for a type. */
function deltas(log: { msg: string; obj: Record<string, unknown> }[], typeUrl: string) {
  return log
    .filter((l) => l.msg === 'xDS delta received' && l.obj.typeUrl === typeUrl)
    .map((l) => l.obj as { updated: number; removed: number; total: number });
}

async function synced(server: XdsServer): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const s = server.statuses()[0];
    if (s?.inSync && Object.keys(s.types).length >= 4) return;
    if (Date.now() > deadline) throw new Error(`not SYNCED: ${JSON.stringify(s?.types)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const MYSQL = 'outbound|3306||mysqldb.example';
const PG = 'outbound|3306||pg.example';
const RATINGS_EDS = 'outbound|9080||ratings.default.svc.cluster.local';

describe('AdsClient over delta ADS against the control plane', () => {
  test('the initial sync hands over the same full sets as state of the world, and the server sees it SYNCED', async () => {
    const { server, port } = await startServer([...base, mysql]);
    const d = startClient(port);
    const s = startClient(port, { protocol: 'sotw' });
    for (const c of [d, s]) {
      await c.until(TypeUrl.Cluster, (x) => names(x).includes(MYSQL), 'clusters');
      await c.until(TypeUrl.Listener, (x) => names(x).includes('10.233.91.250_3306'), 'listeners');
      await c.until(TypeUrl.NameTable, (x) => hosts(x).includes('mysqldb.example'), 'name table');
      await c.until(TypeUrl.ClusterLoadAssignment, (x) => names(x).includes(RATINGS_EDS), 'endpoints');
    }
    for (const t of [TypeUrl.Cluster, TypeUrl.Listener, TypeUrl.ClusterLoadAssignment]) {
      assert.deepEqual(names(d.delivered.get(t)!.at(-1)!), names(s.delivered.get(t)!.at(-1)!), t);
    }
    assert.deepEqual(
      d.delivered.get(TypeUrl.NameTable)!.at(-1)!.resources,
      s.delivered.get(TypeUrl.NameTable)!.at(-1)!.resources,
    );
    await synced(server);
    const protocols = server
      .statuses()
      .map((x) => x.protocol)
      .sort();
    assert.deepEqual(protocols, ['delta', 'sotw']);
    assert.ok(server.statuses().every((x) => x.inSync));
  });

  test('a ServiceEntry added then deleted travels as a delta; the full set handed over follows it', async () => {
    const { source, server, port } = await startServer([...base, mysql]);
    const c = startClient(port);
    const first = await c.until(TypeUrl.Cluster, (x) => names(x).includes(MYSQL), 'clusters');
    await synced(server);
    const before = names(first);
    const sent = deltas(c.log, TypeUrl.Cluster).length;

    source.set([...base, mysql, pg]);
    const added = await c.until(TypeUrl.Cluster, (x) => names(x).includes(PG), 'pg cluster');
    assert.deepEqual(names(added), [...before, PG].sort());
    const addDelta = deltas(c.log, TypeUrl.Cluster).slice(sent);
    assert.equal(addDelta.length, 1);
    assert.deepEqual({ updated: addDelta[0]!.updated, removed: addDelta[0]!.removed }, { updated: 1, removed: 0 });
    const nds = await c.until(TypeUrl.NameTable, (x) => hosts(x).includes('pg.example'), 'pg host');
    assert.ok(hosts(nds).includes('mysqldb.example'), 'the other hosts stay in the merged table');

    source.set([...base, mysql]);
    const removed = await c.until(TypeUrl.Cluster, (x) => !names(x).includes(PG), 'pg cluster gone');
    assert.deepEqual(names(removed), before);
    const rmDelta = deltas(c.log, TypeUrl.Cluster).at(-1)!;
    assert.deepEqual({ updated: rmDelta.updated, removed: rmDelta.removed }, { updated: 0, removed: 1 });
    await c.until(TypeUrl.Listener, (x) => !names(x).includes('10.233.91.251_3306'), 'pg listener gone');
    await c.until(TypeUrl.NameTable, (x) => !hosts(x).includes('pg.example'), 'pg host gone');
    await synced(server);
  });

  test('a NACKed delta keeps the previous set; the next good one applies on top of it', async () => {
    const bad = serviceEntry('bad.example', '10.233.91.252');
    const BAD = 'outbound|3306||bad.example';
    const { source, server, port } = await startServer([...base, mysql]);
    const c = startClient(port, {
      reject: (t, n) => (t === TypeUrl.Cluster && n.includes(BAD) ? 'cluster bad.example: refused' : undefined),
    });
    const first = await c.until(TypeUrl.Cluster, (x) => names(x).includes(MYSQL), 'clusters');
    await synced(server);

    source.set([...base, mysql, bad]);
    await c.until(TypeUrl.Cluster, (x) => names(x).includes(BAD), 'the bad set');
    const deadline = Date.now() + 5000;
    while (server.statuses()[0]?.types.CDS?.state !== 'NACKED') {
      assert.ok(Date.now() < deadline, 'the server sees the NACK');
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.match(server.statuses()[0]!.types.CDS!.lastNack!.message, /bad\.example: refused/);

    source.set([...base, mysql, bad, pg]);
    const next = await c.until(TypeUrl.Cluster, (x) => names(x).includes(PG), 'pg cluster');
    // The rejected cluster is not held, so it is not in the set built on the held one.
    assert.deepEqual(names(next), [...names(first), PG].sort());
    await synced(server);
  });

  test('after the server restarts, the client resubscribes with what it holds and gets only what changed', async () => {
    const first = await startServer([...base, mysql]);
    const c = startClient(first.port);
    const held = await c.until(TypeUrl.Cluster, (x) => names(x).includes(MYSQL), 'clusters');
    await c.until(TypeUrl.ClusterLoadAssignment, (x) => names(x).includes(RATINGS_EDS), 'endpoints');
    await synced(first.server);
    await first.stop();

    const second = await startServer([...base, mysql, pg], first.port);
    const resynced = await c.until(TypeUrl.Cluster, (x) => names(x).includes(PG), 'clusters after restart');
    assert.deepEqual(names(resynced), [...names(held), PG].sort());
    const last = deltas(c.log, TypeUrl.Cluster).at(-1)!;
    assert.deepEqual({ updated: last.updated, removed: last.removed }, { updated: 1, removed: 0 });
    await c.until(
      TypeUrl.NameTable,
      (x) => hosts(x).includes('pg.example') && hosts(x).includes('mysqldb.example'),
      'hosts',
    );
    await c.until(TypeUrl.ClusterLoadAssignment, (x) => names(x).includes(RATINGS_EDS), 'endpoints after restart');
    await synced(second.server);
  });
});

describe('AdsClient over state-of-the-world ADS', () => {
  test('a ServiceEntry added then deleted comes as whole sets', async () => {
    const { source, server, port } = await startServer([...base, mysql]);
    const c = startClient(port, { protocol: 'sotw' });
    const first = await c.until(TypeUrl.Cluster, (x) => names(x).includes(MYSQL), 'clusters');
    await synced(server);
    source.set([...base, mysql, pg]);
    assert.deepEqual(
      names(await c.until(TypeUrl.Cluster, (x) => names(x).includes(PG), 'pg')),
      [...names(first), PG].sort(),
    );
    source.set([...base, mysql]);
    assert.deepEqual(names(await c.until(TypeUrl.Cluster, (x) => !names(x).includes(PG), 'no pg')), names(first));
    assert.equal(deltas(c.log, TypeUrl.Cluster).length, 0);
    await synced(server);
    assert.equal(server.statuses()[0]?.protocol, 'sotw');
  });
});

describe('AdsClient against a server without delta ADS', () => {
  test('falls back to state of the world on UNIMPLEMENTED', async () => {
    const { startAdsServer } = await import('../testing/ads-server.js');
    const server = await startAdsServer();
    cleanups.push(() => server.close());
    const c = startClient(server.port);
    await server.waitForStream();
    const ack = await server.push(TypeUrl.Cluster, 'v1', []);
    assert.equal(ack.version_info, 'v1');
    assert.deepEqual(c.delivered.get(TypeUrl.Cluster)?.at(-1), { resources: [], version: 'v1' });
    assert.ok(c.log.some((l) => l.msg.includes('does not serve delta ADS')));
  });
});
