import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Resource } from '@sluice/config';
import { TypeUrl } from '@sluice/xds';
import { bookinfo, meshRegistryOnly, mysqlExternal } from '../translate/testdata/seed.js';
import { AdsTestClient, decodeAll } from './ads-client.js';
import { StaticConfigSource } from './config-source.js';
import { XdsServer } from './xds-server.js';

const RATINGS_ID = 'sidecar~10.233.77.15~ratings-v2-mysql-0.default~default.svc.cluster.local';
const ratingsMeta = {
  NAMESPACE: 'default',
  NAME: 'ratings-v2-mysql-0',
  LABELS: { app: 'ratings', version: 'v2-mysql' },
};
const REVIEWS_ID = 'sidecar~10.233.77.12~reviews-v1-0.default~default.svc.cluster.local';
const reviewsMeta = { NAMESPACE: 'default', NAME: 'reviews-v1-0', LABELS: { app: 'reviews', version: 'v1' } };

async function setup(resources: Resource[]) {
  const source = new StaticConfigSource(resources);
  const server = new XdsServer({ source, debounceMs: 10 });
  const port = await server.listen(['127.0.0.1'], 0);
  const clients: AdsTestClient[] = [];
  after(async () => {
    for (const c of clients) c.close();
    await server.close();
    server.destroy();
  });
  const connect = (nodeId = RATINGS_ID, metadata: Record<string, unknown> = ratingsMeta) => {
    const c = new AdsTestClient({ address: `127.0.0.1:${port}`, nodeId, metadata });
    clients.push(c);
    return c;
  };
  return { source, server, connect };
}

const names = (r: { resources: unknown[] } & Parameters<typeof decodeAll>[0]) =>
  decodeAll(r).map((x) => x.name as string);

/** Subscribes to NDS and waits for its answer: every response the server queued before is then in. */
async function barrier(c: AdsTestClient) {
  c.send({ typeUrl: TypeUrl.NameTable });
  c.ack(await c.next(TypeUrl.NameTable));
}

describe('ADS state of the world over a real gRPC stream', () => {
  test('first request gets the full set with a version and a nonce', async () => {
    const { connect } = await setup([meshRegistryOnly, ...bookinfo, mysqlExternal]);
    const c = connect();
    c.send({ typeUrl: TypeUrl.Listener });
    const r = await c.next(TypeUrl.Listener);
    assert.ok(r.version_info.length > 0);
    assert.ok(r.nonce.length > 0);
    assert.deepEqual(names(r), ['0.0.0.0_9080', '10.233.77.250_3306', 'virtualInbound', 'virtualOutbound']);
  });

  test('ACK marks the type SYNCED with the acked version and nothing is re-sent', async () => {
    const { connect, server, source } = await setup([meshRegistryOnly, ...bookinfo]);
    const c = connect();
    c.send({ typeUrl: TypeUrl.Cluster });
    const r = await c.next(TypeUrl.Cluster);
    c.ack(r);
    await barrier(c);
    const cds = server.statuses()[0]?.types.CDS;
    assert.equal(cds?.state, 'SYNCED');
    assert.equal(cds?.ackedVersion, r.version_info);
    source.set([meshRegistryOnly, ...bookinfo]); // same content, new snapshot
    const res = await server.waitForAcks({ timeoutMs: 5000 });
    assert.deepEqual(res.acked, [RATINGS_ID]);
    await barrier(c);
    assert.equal(c.received.filter((x) => x.type_url === TypeUrl.Cluster).length, 1);
  });

  test('NACK keeps the error, does not advance the version, and the rejected version is not re-sent', async () => {
    const { connect, server, source } = await setup([meshRegistryOnly, ...bookinfo]);
    const c = connect();
    c.send({ typeUrl: TypeUrl.Listener });
    const first = await c.next(TypeUrl.Listener);
    c.ack(first);
    await barrier(c);
    source.set([meshRegistryOnly, ...bookinfo, mysqlExternal]);
    c.ack(await c.next(TypeUrl.NameTable));
    const second = await c.next(TypeUrl.Listener);
    assert.notEqual(second.version_info, first.version_info);
    c.send({
      typeUrl: TypeUrl.Listener,
      version: first.version_info,
      nonce: second.nonce,
      error: 'listener 10.233.77.250_3306: unsupported field',
    });
    await barrier(c);
    const lds = server.statuses()[0]?.types.LDS;
    assert.equal(lds?.state, 'NACKED');
    assert.equal(lds?.ackedVersion, first.version_info);
    assert.equal(lds?.sentVersion, second.version_info);
    assert.match(lds?.lastNack?.message ?? '', /unsupported field/);
    const metric = await server.metrics.nacks.get();
    assert.equal(metric.values.find((v) => v.labels.type === 'LDS')?.value, 1);
    // An unrelated change (same resources for this proxy) must not re-send the rejected version.
    source.set([meshRegistryOnly, ...bookinfo, mysqlExternal]);
    const wait = await server.waitForAcks({ timeoutMs: 300 });
    assert.deepEqual(wait.nacked, [RATINGS_ID]);
    await barrier(c);
    assert.equal(c.received.filter((x) => x.type_url === TypeUrl.Listener).length, 2);
    // A real change is sent, and acking it clears the NACKED state.
    source.set([meshRegistryOnly, ...bookinfo]);
    c.ack(await c.next(TypeUrl.NameTable));
    const third = await c.next(TypeUrl.Listener);
    assert.equal(third.version_info, first.version_info);
    c.ack(third);
    await barrier(c);
    assert.equal(server.statuses()[0]?.types.LDS?.state, 'SYNCED');
  });

  test('a request with a stale nonce is ignored', async () => {
    const { connect, server, source } = await setup([meshRegistryOnly, ...bookinfo]);
    const c = connect();
    c.send({ typeUrl: TypeUrl.Listener });
    const first = await c.next(TypeUrl.Listener);
    source.set([meshRegistryOnly, ...bookinfo, mysqlExternal]);
    const second = await c.next(TypeUrl.Listener);
    // ACK of the first response arrives after the second was sent: stale.
    c.ack(first);
    await barrier(c);
    const lds = server.statuses()[0]?.types.LDS;
    assert.equal(lds?.state, 'STALE');
    assert.equal(lds?.ackedVersion, undefined);
    assert.equal(lds?.nonce, second.nonce);
    const stale = await server.metrics.staleRequests.get();
    assert.equal(stale.values.find((v) => v.labels.type === 'LDS')?.value, 1);
    c.ack(second);
    await barrier(c);
    assert.equal(server.statuses()[0]?.types.LDS?.state, 'SYNCED');
  });

  test('reconnecting with the current version gets no response; with an old one, the new set', async () => {
    const { connect, server, source } = await setup([meshRegistryOnly, ...bookinfo]);
    const c1 = connect();
    c1.send({ typeUrl: TypeUrl.Listener });
    const r1 = await c1.next(TypeUrl.Listener);
    c1.ack(r1);
    c1.close();
    const c2 = connect();
    c2.send({ typeUrl: TypeUrl.Listener, version: r1.version_info });
    await barrier(c2);
    assert.equal(c2.received.filter((x) => x.type_url === TypeUrl.Listener).length, 0);
    const st = server.statuses().find((s) => s.types.LDS);
    assert.equal(st?.types.LDS?.state, 'SYNCED');
    source.set([meshRegistryOnly, ...bookinfo, mysqlExternal]);
    const r2 = await c2.next(TypeUrl.Listener);
    assert.ok(names(r2).includes('10.233.77.250_3306'));
    const c3 = connect();
    c3.send({ typeUrl: TypeUrl.Listener, version: r1.version_info });
    const r3 = await c3.next(TypeUrl.Listener);
    assert.equal(r3.version_info, r2.version_info);
  });

  test('resources removed from the snapshot disappear from the next response', async () => {
    const { connect, source } = await setup([meshRegistryOnly, ...bookinfo, mysqlExternal]);
    const c = connect();
    c.send({ typeUrl: TypeUrl.Cluster });
    const r1 = await c.next(TypeUrl.Cluster);
    assert.ok(names(r1).includes('outbound|3306||mysqldb.example'));
    c.ack(r1);
    source.set([meshRegistryOnly, ...bookinfo]);
    const r2 = await c.next(TypeUrl.Cluster);
    assert.ok(!names(r2).includes('outbound|3306||mysqldb.example'));
    assert.ok(names(r2).includes('BlackHoleCluster'));
  });

  test('RDS and EDS send only the subscribed names', async () => {
    const { connect } = await setup([meshRegistryOnly, ...bookinfo]);
    const c = connect();
    const wanted = 'outbound|9080||reviews.default.svc.cluster.local';
    c.send({ typeUrl: TypeUrl.ClusterLoadAssignment, names: [wanted] });
    const r = await c.next(TypeUrl.ClusterLoadAssignment);
    const eds = decodeAll(r);
    assert.deepEqual(
      eds.map((x) => x.cluster_name),
      [wanted],
    );
    const lbs = (eds[0] as { endpoints: { lb_endpoints: unknown[] }[] }).endpoints[0]?.lb_endpoints;
    assert.equal(lbs?.length, 3); // reviews v1, v2, v3 pods
    c.ack(r, [wanted, 'outbound|9080||ratings.default.svc.cluster.local']);
    const r2 = await c.next(TypeUrl.ClusterLoadAssignment);
    assert.deepEqual(
      decodeAll(r2).map((x) => x.cluster_name),
      ['outbound|9080||ratings.default.svc.cluster.local', wanted],
    );
  });

  test('a burst of changes is coalesced into one push', async () => {
    const { connect, server, source } = await setup([meshRegistryOnly, ...bookinfo]);
    const c = connect();
    c.send({ typeUrl: TypeUrl.Listener });
    c.ack(await c.next(TypeUrl.Listener));
    await barrier(c);
    for (let i = 0; i < 20; i++) {
      const port = 4000 + i;
      source.set([
        meshRegistryOnly,
        ...bookinfo,
        {
          ...mysqlExternal,
          spec: { ...(mysqlExternal.spec as object), ports: [{ name: 'tcp', number: port, protocol: 'TCP' }] },
        },
      ]);
    }
    const r = await c.next(TypeUrl.Listener);
    assert.ok(names(r).includes('10.233.77.250_4019'));
    c.ack(r);
    c.ack(await c.next(TypeUrl.NameTable));
    const res = await server.waitForAcks({ timeoutMs: 5000 });
    assert.deepEqual(res.notAcked, []);
    await barrier(c);
    assert.equal(c.received.filter((x) => x.type_url === TypeUrl.Listener).length, 2);
  });

  test('proxies with different labels get different resources', async () => {
    const onlyRatingsLocked: Resource = {
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'Sidecar',
      metadata: { name: 'ratings-lockdown', namespace: 'default', creationTimestamp: '2026-01-03T00:00:00Z' },
      spec: { workloadSelector: { labels: { app: 'ratings' } }, outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } },
    };
    const { connect, server } = await setup([...bookinfo, onlyRatingsLocked]);
    const ratings = connect();
    const reviews = connect(REVIEWS_ID, reviewsMeta);
    ratings.send({ typeUrl: TypeUrl.Listener });
    reviews.send({ typeUrl: TypeUrl.Listener });
    const fallback = async (c: AdsTestClient) => {
      const r = await c.next(TypeUrl.Listener);
      c.ack(r);
      const vo = decodeAll(r).find((l) => l.name === 'virtualOutbound') as { default_filter_chain: { name: string } };
      return vo.default_filter_chain.name;
    };
    assert.equal(await fallback(ratings), 'BlackHoleFilterChain');
    assert.equal(await fallback(reviews), 'PassthroughFilterChain');
    const res = await server.waitForAcks({ timeoutMs: 5000 });
    assert.deepEqual(res.acked.sort(), [RATINGS_ID, REVIEWS_ID].sort());
    assert.ok(server.configDump(RATINGS_ID));
    assert.equal(server.configDump('no-such-proxy'), undefined);
  });

  test('a node without an id ends the stream with INVALID_ARGUMENT', async () => {
    const { connect } = await setup([]);
    const c = connect('');
    c.send({ typeUrl: TypeUrl.Listener });
    await assert.rejects(c.next(TypeUrl.Listener), /node\.id/);
  });
});
