import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Resource } from '@sluice/config';
import { TypeUrl } from '@sluice/xds';
import { bookinfo, meshRegistryOnly, mysqlExternal } from '../translate/testdata/seed.js';
import { AdsTestClient, type DecodedDeltaResponse, DeltaTestClient } from './ads-client.js';
import { StaticConfigSource } from './config-source.js';
import { XdsServer } from './xds-server.js';

const RATINGS_ID = 'sidecar~10.233.77.15~ratings-v2-mysql-0.default~default.svc.cluster.local';
const ratingsMeta = {
  NAMESPACE: 'default',
  NAME: 'ratings-v2-mysql-0',
  LABELS: { app: 'ratings', version: 'v2-mysql' },
};
const MYSQL_CLUSTER = 'outbound|3306||mysqldb.example';
const REVIEWS_EDS = 'outbound|9080||reviews.default.svc.cluster.local';
const RATINGS_EDS = 'outbound|9080||ratings.default.svc.cluster.local';

async function setup(resources: Resource[]) {
  const source = new StaticConfigSource(resources);
  const server = new XdsServer({ source, debounceMs: 10 });
  const port = await server.listen(['127.0.0.1'], 0);
  const clients: { close(): void }[] = [];
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
    server.destroy();
  });
  const connect = (nodeId = RATINGS_ID) => {
    const c = new DeltaTestClient({ address: `127.0.0.1:${port}`, nodeId, metadata: ratingsMeta });
    clients.push(c);
    return c;
  };
  const connectSotw = () => {
    const c = new AdsTestClient({ address: `127.0.0.1:${port}`, nodeId: RATINGS_ID, metadata: ratingsMeta });
    clients.push(c);
    return c;
  };
  return { source, server, connect, connectSotw };
}

const names = (r: DecodedDeltaResponse) => r.resources.map((x) => x.name);
const versions = (r: DecodedDeltaResponse) => Object.fromEntries(r.resources.map((x) => [x.name, x.version]));

const ndsSubscribed = new WeakSet<DeltaTestClient>();

/**
 * (Re)subscribes to NDS and waits for its answer: every response the server queued before is then
 * in. Unsubscribing first makes the server forget what the client holds, so it answers in full.
 */
async function barrier(c: DeltaTestClient) {
  if (ndsSubscribed.has(c)) c.send({ typeUrl: TypeUrl.NameTable, unsubscribe: ['*'] });
  ndsSubscribed.add(c);
  c.send({ typeUrl: TypeUrl.NameTable, subscribe: ['*'] });
  c.ack(await c.next(TypeUrl.NameTable));
}

/** Wildcard CDS subscription, answered and ACKed. */
async function subscribedClusters(c: DeltaTestClient) {
  c.send({ typeUrl: TypeUrl.Cluster, subscribe: ['*'] });
  const r = await c.next(TypeUrl.Cluster);
  c.ack(r);
  return r;
}

describe('ADS incremental (delta) over a real gRPC stream', () => {
  test('a wildcard first request gets every resource with its version, a nonce and a system version', async () => {
    const { connect } = await setup([meshRegistryOnly, ...bookinfo, mysqlExternal]);
    const c = connect();
    c.send({ typeUrl: TypeUrl.Listener, subscribe: ['*'] });
    const r = await c.next(TypeUrl.Listener);
    assert.deepEqual(names(r), ['0.0.0.0_9080', '10.233.77.250_3306', 'virtualInbound', 'virtualOutbound']);
    assert.ok(r.resources.every((x) => x.version.length > 0));
    assert.equal(r.resources.find((x) => x.name === 'virtualOutbound')?.body.name, 'virtualOutbound');
    assert.ok(r.nonce.length > 0);
    assert.ok(r.system_version_info.length > 0);
    assert.deepEqual(r.removed_resources, []);
  });

  test('an empty first request is a wildcard subscription (legacy form)', async () => {
    const { connect } = await setup([meshRegistryOnly, ...bookinfo]);
    const c = connect();
    c.send({ typeUrl: TypeUrl.Cluster });
    const r = await c.next(TypeUrl.Cluster);
    assert.ok(names(r).includes('BlackHoleCluster'));
    assert.ok(names(r).includes(REVIEWS_EDS));
  });

  test('ACK marks the type SYNCED in statuses(), waitForAcks and configDump cover delta streams', async () => {
    const { connect, server, source } = await setup([meshRegistryOnly, ...bookinfo]);
    const c = connect();
    const r = await subscribedClusters(c);
    await barrier(c);
    const st = server.statuses()[0];
    assert.equal(st?.protocol, 'delta');
    assert.equal(st?.types.CDS?.state, 'SYNCED');
    assert.equal(st?.types.CDS?.ackedVersion, r.system_version_info);
    source.set([meshRegistryOnly, ...bookinfo]); // same content, new snapshot: nothing to send
    const res = await server.waitForAcks({ timeoutMs: 5000 });
    assert.deepEqual(res.acked, [RATINGS_ID]);
    await barrier(c);
    assert.equal(c.received.filter((x) => x.type_url === TypeUrl.Cluster).length, 1);
    const dump = server.configDump(RATINGS_ID) as { configs: { dynamic_active_clusters?: unknown[] }[] };
    assert.equal(dump.configs[0]?.dynamic_active_clusters?.length, r.resources.length);
  });

  test('a ServiceEntry change sends only the changed cluster and listener', async () => {
    const { connect, server, source } = await setup([meshRegistryOnly, ...bookinfo]);
    const c = connect();
    await subscribedClusters(c);
    c.send({ typeUrl: TypeUrl.Listener, subscribe: ['*'] });
    const lds = await c.next(TypeUrl.Listener);
    c.ack(lds);
    await barrier(c);
    source.set([meshRegistryOnly, ...bookinfo, mysqlExternal]);
    const cds = await c.next(TypeUrl.Cluster);
    assert.deepEqual(names(cds), [MYSQL_CLUSTER]);
    assert.deepEqual(cds.removed_resources, []);
    c.ack(cds);
    const lds2 = await c.next(TypeUrl.Listener);
    assert.deepEqual(names(lds2), ['10.233.77.250_3306']);
    c.ack(lds2);
    // NDS is split per host: only the new host's entry is sent.
    const nds = await c.next(TypeUrl.NameTable);
    assert.deepEqual(names(nds), ['mysqldb.example']);
    const table = (nds.resources[0]?.body ?? {}) as { table?: object };
    assert.deepEqual(Object.keys(table.table ?? {}), ['mysqldb.example']);
    c.ack(nds);
    const res = await server.waitForAcks({ timeoutMs: 5000 });
    assert.deepEqual(res.acked, [RATINGS_ID]);
  });

  test('a resource gone from the snapshot comes back in removed_resources', async () => {
    const { connect, source } = await setup([meshRegistryOnly, ...bookinfo, mysqlExternal]);
    const c = connect();
    const first = await subscribedClusters(c);
    assert.ok(names(first).includes(MYSQL_CLUSTER));
    await barrier(c);
    source.set([meshRegistryOnly, ...bookinfo]);
    const r = await c.next(TypeUrl.Cluster);
    assert.deepEqual(r.resources, []);
    assert.deepEqual(r.removed_resources, [MYSQL_CLUSTER]);
    c.ack(r);
  });

  test('NACK keeps the error; the rejected content is not re-sent until it changes', async () => {
    const { connect, server, source } = await setup([meshRegistryOnly, ...bookinfo]);
    const c = connect();
    await subscribedClusters(c);
    await barrier(c);
    source.set([meshRegistryOnly, ...bookinfo, mysqlExternal]);
    c.ack(await c.next(TypeUrl.NameTable));
    const bad = await c.next(TypeUrl.Cluster);
    assert.deepEqual(names(bad), [MYSQL_CLUSTER]);
    c.send({
      typeUrl: TypeUrl.Cluster,
      nonce: bad.nonce,
      error: 'cluster outbound|3306||mysqldb.example: unsupported',
    });
    await barrier(c);
    const cds = server.statuses()[0]?.types.CDS;
    assert.equal(cds?.state, 'NACKED');
    assert.match(cds?.lastNack?.message ?? '', /unsupported/);
    const metric = await server.metrics.nacks.get();
    assert.equal(metric.values.find((v) => v.labels.type === 'CDS')?.value, 1);
    // An unrelated snapshot (same resources) does not re-send the rejected cluster.
    source.set([meshRegistryOnly, ...bookinfo, mysqlExternal]);
    const wait = await server.waitForAcks({ timeoutMs: 300 });
    assert.deepEqual(wait.nacked, [RATINGS_ID]);
    await barrier(c);
    assert.equal(c.received.filter((x) => x.type_url === TypeUrl.Cluster).length, 2);
    // A changed version of it is sent, and acking that clears the NACKED state.
    const changed = {
      ...mysqlExternal,
      spec: { ...(mysqlExternal.spec as object), ports: [{ name: 'tcp', number: 3307, protocol: 'TCP' }] },
    } as Resource;
    source.set([meshRegistryOnly, ...bookinfo, changed]);
    const next = await c.next(TypeUrl.Cluster);
    assert.deepEqual(names(next), ['outbound|3307||mysqldb.example']);
    c.ack(next);
    await barrier(c);
    assert.equal(server.statuses()[0]?.types.CDS?.state, 'SYNCED');
  });

  test('a request with a stale nonce is ignored', async () => {
    const { connect, server, source } = await setup([meshRegistryOnly, ...bookinfo]);
    const c = connect();
    c.send({ typeUrl: TypeUrl.Cluster, subscribe: ['*'] });
    const first = await c.next(TypeUrl.Cluster);
    source.set([meshRegistryOnly, ...bookinfo, mysqlExternal]);
    const second = await c.next(TypeUrl.Cluster);
    c.ack(first); // arrives after the second response was sent: stale
    await barrier(c);
    const cds = server.statuses()[0]?.types.CDS;
    assert.equal(cds?.state, 'STALE');
    assert.equal(cds?.ackedVersion, undefined);
    assert.equal(cds?.nonce, second.nonce);
    const stale = await server.metrics.staleRequests.get();
    assert.equal(stale.values.find((v) => v.labels.type === 'CDS')?.value, 1);
    c.ack(second);
    await barrier(c);
    assert.equal(server.statuses()[0]?.types.CDS?.state, 'SYNCED');
  });

  test('reconnecting with initial_resource_versions sends only what differs and removes what is gone', async () => {
    const { connect, server, source } = await setup([meshRegistryOnly, ...bookinfo, mysqlExternal]);
    const c1 = connect();
    const full = await subscribedClusters(c1);
    const held = versions(full);
    c1.close();
    // Holding exactly the current set: an empty answer, then SYNCED.
    const c2 = connect();
    c2.send({ typeUrl: TypeUrl.Cluster, subscribe: ['*'], initial: held });
    const none = await c2.next(TypeUrl.Cluster);
    assert.deepEqual(none.resources, []);
    assert.deepEqual(none.removed_resources, []);
    c2.ack(none);
    await barrier(c2);
    assert.equal(server.statuses().find((s) => s.types.CDS)?.types.CDS?.state, 'SYNCED');
    c2.close();
    // The config moved on while disconnected: an old version and a name that is gone.
    source.set([meshRegistryOnly, ...bookinfo]);
    await server.waitForAcks({ timeoutMs: 200 });
    const c3 = connect();
    c3.send({
      typeUrl: TypeUrl.Cluster,
      subscribe: ['*'],
      initial: { ...held, BlackHoleCluster: 'an-old-version' },
    });
    const r = await c3.next(TypeUrl.Cluster);
    assert.deepEqual(names(r), ['BlackHoleCluster']);
    assert.deepEqual(r.removed_resources, [MYSQL_CLUSTER]);
  });

  test('explicit names: only those are sent; subscribing more sends only the new ones; unsubscribing sends nothing', async () => {
    const { connect, server } = await setup([meshRegistryOnly, ...bookinfo]);
    const c = connect();
    c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, subscribe: [REVIEWS_EDS] });
    const r1 = await c.next(TypeUrl.ClusterLoadAssignment);
    assert.deepEqual(names(r1), [REVIEWS_EDS]);
    const cla = (r1.resources[0]?.body ?? {}) as { endpoints?: { lb_endpoints: unknown[] }[] };
    const lbs = cla.endpoints?.[0]?.lb_endpoints;
    assert.equal(lbs?.length, 3); // reviews v1, v2, v3 pods
    c.ack(r1);
    c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, subscribe: [RATINGS_EDS] });
    const r2 = await c.next(TypeUrl.ClusterLoadAssignment);
    assert.deepEqual(names(r2), [RATINGS_EDS]);
    c.ack(r2);
    c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, unsubscribe: [REVIEWS_EDS] });
    await barrier(c);
    assert.equal(c.received.filter((x) => x.type_url === TypeUrl.ClusterLoadAssignment).length, 2);
    assert.deepEqual(server.statuses()[0]?.types.EDS?.resourceNames, [RATINGS_EDS]);
  });

  test('delta and state-of-the-world proxies are served side by side', async () => {
    const { connect, connectSotw, server, source } = await setup([meshRegistryOnly, ...bookinfo]);
    const d = connect('sidecar~10.233.77.16~ratings-v2-mysql-1.default~default.svc.cluster.local');
    const s = connectSotw();
    await subscribedClusters(d);
    s.send({ typeUrl: TypeUrl.Cluster });
    s.ack(await s.next(TypeUrl.Cluster));
    source.set([meshRegistryOnly, ...bookinfo, mysqlExternal]);
    const dr = await d.next(TypeUrl.Cluster);
    d.ack(dr);
    const sr = await s.next(TypeUrl.Cluster);
    s.ack(sr);
    assert.deepEqual(names(dr), [MYSQL_CLUSTER]);
    assert.ok(sr.resources.length > 1);
    const res = await server.waitForAcks({ timeoutMs: 5000 });
    assert.equal(res.acked.length, 2);
    assert.deepEqual(
      server
        .statuses()
        .map((x) => x.protocol)
        .sort(),
      ['delta', 'sotw'],
    );
  });

  test('a node without an id ends the stream with INVALID_ARGUMENT', async () => {
    const { connect } = await setup([]);
    const c = connect('');
    c.send({ typeUrl: TypeUrl.Listener, subscribe: ['*'] });
    await assert.rejects(c.next(TypeUrl.Listener), /node\.id/);
  });
});
