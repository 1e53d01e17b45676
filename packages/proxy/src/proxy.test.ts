import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { TypeUrl } from '@sluice/xds';
import { startAdsServer } from './testing/ads-server.js';
import { readAll, startServer, startTestProxy } from './testing/harness.js';
import {
  blackHoleCluster,
  passthroughCluster,
  portListener,
  staticCluster,
  tcpChain,
  virtualOutbound,
} from './testing/resources.js';

const HOST = '127.0.0.1';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-proxy-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function get(port: number, p: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${p}`);
  return { status: res.status, body: await res.text() };
}

describe('proxy lifecycle, xDS and admin', () => {
  test('before any snapshot: /ready is 503 and every connection is blocked (fail closed)', async (t) => {
    const srv = await startServer(HOST, (s) => s.end('leak'));
    const tp = await startTestProxy();
    t.after(() => Promise.all([tp.proxy.destroy(), srv.close()]));
    const ready = await get(tp.proxy.ports.admin, '/ready');
    assert.equal(ready.status, 503);
    assert.match(ready.body, /no configuration received yet/);
    assert.equal((await readAll(tp.connect({ address: HOST, port: srv.port }))).length, 0);
    const e = await tp.log.waitFor(() => true);
    assert.deepEqual([e.decision, e.reason], ['blackhole', 'no-config']);
    assert.equal(srv.received(), 0);
  });

  test('a direct connection to the capture port (not redirected) is black-holed, via SO_ORIGINAL_DST', async (t) => {
    const tp = await startTestProxy({ originalDstForTesting: undefined });
    t.after(() => tp.proxy.destroy());
    await tp.proxy.applySnapshot({ listeners: [virtualOutbound('ALLOW_ANY')], clusters: [passthroughCluster()] });
    const c = net.connect(tp.proxy.ports.outbound, HOST);
    c.write('hello');
    assert.equal((await readAll(c)).length, 0);
    const e = await tp.log.waitFor(() => true);
    assert.deepEqual([e.decision, e.reason, e.upstream_cluster], ['blackhole', 'capture-port', 'BlackHoleCluster']);
  });

  test('xDS: ACK with version, NACK of an unsupported field naming resource and field, old snapshot kept', async (t) => {
    const ads = await startAdsServer();
    const srv = await startServer(HOST, (s) => s.end('db'));
    const tp = await startTestProxy({
      xds: `127.0.0.1:${ads.port}`,
      nodeId: 'sidecar~10.233.90.10~ratings-v1.default~default.svc.cluster.local',
      nodeMetadata: { NAMESPACE: 'default', WORKLOAD_NAME: 'ratings-v1' },
    });
    t.after(() => Promise.all([tp.proxy.destroy(), ads.close(), srv.close()]));
    await ads.waitForStream();
    assert.ok(ads.requests[0]?.node?.id.startsWith('sidecar~10.233.90.10'));
    const clusters = [staticCluster('outbound|3306||mysql', [{ address: HOST, port: srv.port }]), blackHoleCluster()];
    const cAck = await ads.push(TypeUrl.Cluster, 'c1', clusters);
    assert.equal(cAck.version_info, 'c1');
    assert.equal(cAck.error_detail ?? undefined, undefined);
    const good = [
      virtualOutbound('REGISTRY_ONLY'),
      portListener('0.0.0.0', srv.port, [tcpChain('outbound|3306||mysql')]),
    ];
    const lAck = await ads.push(TypeUrl.Listener, 'l1', good);
    assert.equal(lAck.version_info, 'l1');
    assert.equal((await get(tp.proxy.ports.admin, '/ready')).status, 200);

    const bad = [
      ...good,
      {
        ...portListener('0.0.0.0', 5432, [tcpChain('x')]),
        per_connection_buffer_limit_bytes: 1024,
      },
    ];
    const nack = await ads.push(TypeUrl.Listener, 'l2', bad);
    assert.equal(nack.version_info, 'l1', 'a NACK carries the last accepted version');
    assert.match(
      nack.error_detail?.message ?? '',
      /Listener "0\.0\.0\.0_5432": per_connection_buffer_limit_bytes: is not supported/,
    );
    // The good snapshot still routes.
    assert.equal((await readAll(tp.connect({ address: '10.233.90.60', port: srv.port }))).toString(), 'db');
    const dump = JSON.parse((await get(tp.proxy.ports.admin, '/config_dump')).body);
    const listeners = dump.configs.find((c: { '@type': string }) => c['@type'].endsWith('ListenersConfigDump'));
    assert.equal(listeners.version_info, 'l1');
    assert.equal(listeners.dynamic_listeners.length, 2);
    assert.match(await tp.proxy.metrics.exposition(), /sluice_xds_rejected_total\{type_url="[^"]+Listener"\} 1/);
  });

  test('snapshot swap during traffic: a connection no longer allowed is closed, with a log line', async (t) => {
    const srv = await startServer(HOST, () => {});
    const tp = await startTestProxy();
    t.after(() => Promise.all([tp.proxy.destroy(), srv.close()]));
    const allow = {
      listeners: [
        virtualOutbound('REGISTRY_ONLY'),
        portListener('0.0.0.0', srv.port, [tcpChain('outbound|p||mysql', {}, { rule: 'ServiceEntry/default/mysql' })]),
      ],
      clusters: [staticCluster('outbound|p||mysql', [{ address: HOST, port: srv.port }]), blackHoleCluster()],
    };
    await tp.proxy.applySnapshot(allow, 'v1');
    const c = tp.connect({ address: '10.233.90.61', port: srv.port });
    c.write('ping');
    while (srv.received() < 4) await new Promise((r) => setTimeout(r, 10));
    const closed = readAll(c);
    await tp.proxy.applySnapshot({ listeners: [virtualOutbound('REGISTRY_ONLY')] }, 'v2');
    await closed;
    const m = await tp.log.waitForMessage((x) => x.msg.startsWith('closing connection: no longer allowed'));
    assert.equal((m.obj as { previous_rule: string }).previous_rule, 'ServiceEntry/default/mysql');
    assert.equal((m.obj as { reason: string }).reason, 'registry-only');
    const e = await tp.log.waitFor((x) => x.upstream_cluster === 'outbound|p||mysql');
    assert.equal(e.response_code_details, 'policy_revoked');
    // New connections follow the new policy at once.
    assert.equal((await readAll(tp.connect({ address: '10.233.90.61', port: srv.port }))).length, 0);
  });

  test('fail static: a restarted proxy enforces the persisted snapshot before any control plane answers', async (t) => {
    const dir = await tempDir(t);
    const file = path.join(dir, 'snapshot.json');
    const srv = await startServer(HOST, (s) => s.end('ok'));
    t.after(() => srv.close());
    const first = await startTestProxy({ snapshotFile: file });
    await first.proxy.applySnapshot(
      {
        listeners: [virtualOutbound('REGISTRY_ONLY'), portListener('0.0.0.0', srv.port, [tcpChain('allowed')])],
        clusters: [staticCluster('allowed', [{ address: HOST, port: srv.port }]), blackHoleCluster()],
      },
      'v7',
    );
    await first.proxy.flushPersisted();
    await first.proxy.destroy();
    // The control plane is unreachable (nothing listens there).
    const second = await startTestProxy({
      snapshotFile: file,
      xds: '127.0.0.1:1',
      reconnectBackoff: { initialMs: 50, maxMs: 200 },
    });
    t.after(() => second.proxy.destroy());
    assert.equal((await get(second.proxy.ports.admin, '/ready')).status, 200);
    assert.equal((await readAll(second.connect({ address: '10.233.90.62', port: srv.port }))).toString(), 'ok');
    assert.equal((await readAll(second.connect({ address: '10.233.90.62', port: 1 }))).length, 0);
    const blocked = await second.log.waitFor((e) => e.downstream_local_address === '10.233.90.62:1');
    assert.equal(blocked.reason, 'registry-only');
  });

  test('a corrupt snapshot file is detected, logged and ignored (the proxy stays fail-closed)', async (t) => {
    const dir = await tempDir(t);
    const file = path.join(dir, 'snapshot.json');
    const srv = await startServer(HOST, (s) => s.end('ok'));
    t.after(() => srv.close());
    const first = await startTestProxy({ snapshotFile: file });
    await first.proxy.applySnapshot({ listeners: [virtualOutbound('ALLOW_ANY')], clusters: [passthroughCluster()] });
    await first.proxy.flushPersisted();
    await first.proxy.destroy();
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('ALLOW', 'ALLOX').replace('PassthroughCluster', 'PassthroughClusteR'));
    const second = await startTestProxy({ snapshotFile: file });
    t.after(() => second.proxy.destroy());
    const m = await second.log.waitForMessage((x) => x.msg.startsWith('persisted snapshot ignored'));
    assert.match((m.obj as { error: string }).error, /checksum mismatch/);
    assert.equal((await get(second.proxy.ports.admin, '/ready')).status, 503);
    assert.equal((await readAll(second.connect({ address: HOST, port: srv.port }))).length, 0);
  });

  test('admin: /clusters, /stats/prometheus on both ports, /logging', async (t) => {
    const tp = await startTestProxy();
    t.after(() => tp.proxy.destroy());
    await tp.proxy.applySnapshot({
      listeners: [virtualOutbound('REGISTRY_ONLY')],
      clusters: [
        staticCluster('outbound|3306||db', [{ address: '10.233.90.70', port: 3306 }], {
          circuit_breakers: { thresholds: [{ max_connections: 5 }] },
        }),
      ],
    });
    const clusters = await get(tp.proxy.ports.admin, '/clusters');
    assert.match(clusters.body, /outbound\|3306\|\|db::10\.233\.90\.70:3306::health_flags::healthy/);
    assert.match(clusters.body, /outbound\|3306\|\|db::default_priority::max_connections::5/);
    await readAll(tp.connect({ address: '10.233.90.71', port: 9 }));
    await tp.log.waitFor(() => true);
    for (const port of [tp.proxy.ports.admin, tp.proxy.ports.stats]) {
      const prom = await get(port, '/stats/prometheus');
      assert.match(prom.body, /istio_tcp_connections_opened_total\{reporter="source"/);
    }
    assert.equal((await get(tp.proxy.ports.admin, '/logging?level=debug')).status, 200);
    assert.equal(tp.proxy.logger.level, 'debug');
    assert.equal((await get(tp.proxy.ports.admin, '/logging?level=loud')).status, 400);
  });
});
