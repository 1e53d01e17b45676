import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { readAll, startServer, startTestProxy, type TestProxy } from '../testing/harness.js';
import {
  blackHoleCluster,
  originalDstCluster,
  passthroughCluster,
  portListener,
  staticCluster,
  tcpChain,
  virtualOutbound,
} from '../testing/resources.js';

const HOST = '127.0.0.1';

for (const byteEngine of ['native', 'js'] as const)
  describe(`TCP forwarding through the proxy (${byteEngine} byte path)`, () => {
    let tp: TestProxy;
    before(async () => {
      tp = await startTestProxy({ byteEngine });
      assert.equal(tp.proxy.byteEngine, byteEngine);
    });
    after(() => tp.proxy.destroy());

    test('half-close: the client FIN reaches the server, which still answers, then both close', async () => {
      const srv = await startServer(HOST, (s) => {
        const chunks: Buffer[] = [];
        s.on('data', (d: Buffer) => chunks.push(d));
        s.on('end', () => s.end(`got:${Buffer.concat(chunks).toString()}`));
      });
      after(() => srv.close());
      await tp.proxy.applySnapshot({
        listeners: [
          virtualOutbound('REGISTRY_ONLY'),
          portListener('0.0.0.0', srv.port, [tcpChain(`outbound|${srv.port}||echo`)]),
        ],
        clusters: [
          staticCluster(`outbound|${srv.port}||echo`, [{ address: HOST, port: srv.port }]),
          blackHoleCluster(),
        ],
      });
      const c = tp.connect({ address: '10.233.90.50', port: srv.port });
      const all = readAll(c);
      c.end('hello');
      assert.equal((await all).toString(), 'got:hello');
      const e = await tp.log.waitFor((x) => x.upstream_cluster === `outbound|${srv.port}||echo`);
      assert.equal(e.bytes_received, 5);
      assert.equal(e.bytes_sent, 9);
      assert.equal(e.decision, 'route');
      assert.equal(e.reason, 'port-only');
      assert.equal(e.downstream_local_address, `10.233.90.50:${srv.port}`);
      assert.equal(e.response_flags, '-');
    });

    test('server-first protocols: the server greeting arrives without the client sending a byte', async () => {
      const srv = await startServer(HOST, (s) => s.write('220 greeting\r\n'));
      after(() => srv.close());
      await tp.proxy.applySnapshot({
        listeners: [
          virtualOutbound('REGISTRY_ONLY'),
          portListener('0.0.0.0', srv.port, [tcpChain('outbound|x||smtp')]),
        ],
        clusters: [staticCluster('outbound|x||smtp', [{ address: HOST, port: srv.port }]), blackHoleCluster()],
      });
      const c = tp.connect({ address: '10.233.90.51', port: srv.port });
      const [greeting] = await once(c, 'data');
      assert.equal(String(greeting), '220 greeting\r\n');
      c.destroy();
    });

    test('black hole: accepted and closed at once, not a byte relayed, logged with UH and BlackHoleCluster', async () => {
      const srv = await startServer(HOST, (s) => s.write('secret'));
      after(() => srv.close());
      const resolved = new Map([['10.233.90.52', 'db.forbidden.example']]);
      const tp2 = await startTestProxy({
        byteEngine,
        nameForIp: (ip) => resolved.get(ip),
        nodeMetadata: { WORKLOAD_NAME: 'ratings-v2', NAMESPACE: 'default' },
      });
      after(() => tp2.proxy.destroy());
      await tp2.proxy.applySnapshot({ listeners: [virtualOutbound('REGISTRY_ONLY')], clusters: [blackHoleCluster()] });
      const c = tp2.connect({ address: '10.233.90.52', port: srv.port });
      c.write('x'.repeat(1000));
      const got = await readAll(c);
      assert.equal(got.length, 0);
      const e = await tp2.log.waitFor(() => true);
      assert.equal(srv.received(), 0);
      assert.deepEqual(
        [e.upstream_cluster, e.response_flags, e.decision, e.reason, e.bytes_sent],
        ['BlackHoleCluster', 'UH', 'blackhole', 'registry-only', 0],
      );
      assert.equal(e.dns_name, 'db.forbidden.example');
      assert.equal(e.requested_server_name, 'db.forbidden.example');
      assert.equal(e.source_workload, 'ratings-v2');
      const metrics = await tp2.proxy.metrics.exposition();
      assert.match(metrics, /sluice_egress_decisions_total\{verdict="blackhole",reason="registry-only"\} 1/);
      assert.match(
        metrics,
        /istio_tcp_connections_closed_total\{[^}]*destination_service_name="BlackHoleCluster"[^}]*response_flags="UH"[^}]*\} 1/,
      );
    });

    test('passthrough relays to the original destination (ALLOW_ANY)', async () => {
      const srv = await startServer(HOST, (s) => s.end('from-origin'));
      after(() => srv.close());
      await tp.proxy.applySnapshot({ listeners: [virtualOutbound('ALLOW_ANY')], clusters: [passthroughCluster()] });
      const c = tp.connect({ address: HOST, port: srv.port });
      assert.equal((await readAll(c)).toString(), 'from-origin');
      const e = await tp.log.waitFor(
        (x) => x.upstream_cluster === 'PassthroughCluster' && x.upstream_host === `${HOST}:${srv.port}`,
      );
      assert.equal(e.reason, 'allow-any');
    });

    test('weighted_clusters spread connections over both clusters', async () => {
      const a = await startServer(HOST, (s) => s.end('A'));
      const b = await startServer(HOST, (s) => s.end('B'));
      after(() => Promise.all([a.close(), b.close()]));
      await tp.proxy.applySnapshot({
        listeners: [
          virtualOutbound('REGISTRY_ONLY'),
          portListener('0.0.0.0', 4000, [
            tcpChain(
              'w',
              {},
              {
                weighted: [
                  { name: 'ca', weight: 50 },
                  { name: 'cb', weight: 50 },
                ],
              },
            ),
          ]),
        ],
        clusters: [
          staticCluster('ca', [{ address: HOST, port: a.port }]),
          staticCluster('cb', [{ address: HOST, port: b.port }]),
          blackHoleCluster(),
        ],
      });
      const seen = new Set<string>();
      for (let i = 0; i < 40 && seen.size < 2; i++)
        seen.add((await readAll(tp.connect({ address: '10.233.90.53', port: 4000 }))).toString());
      assert.deepEqual([...seen].sort(), ['A', 'B']);
    });

    test('connect timeout from the cluster: the client is closed and the line says UF', async () => {
      // A listener with a full accept queue that never accepts: SYNs to it get no answer.
      const py = spawn('python3', [
        '-c',
        'import socket,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(30)',
      ]);
      after(() => py.kill('SIGKILL'));
      const [line] = await once(py.stdout, 'data');
      const port = Number(String(line).trim());
      const fillers = [net.connect(port, HOST), net.connect(port, HOST)];
      for (const f of fillers) f.on('error', () => {});
      after(() => {
        for (const f of fillers) f.destroy();
      });
      await once(fillers[0]!, 'connect');
      await tp.proxy.applySnapshot({
        listeners: [virtualOutbound('REGISTRY_ONLY'), portListener('0.0.0.0', port, [tcpChain('slow')])],
        clusters: [staticCluster('slow', [{ address: HOST, port }], { connect_timeout: '0.300s' }), blackHoleCluster()],
      });
      const c = tp.connect({ address: '10.233.90.54', port });
      await readAll(c);
      const e = await tp.log.waitFor((x) => x.upstream_cluster === 'slow');
      assert.equal(e.response_flags, 'UF');
      assert.match(e.response_code_details ?? '', /connect timeout after 300 ms/);
    });

    test('circuit breaker max_connections: the overflowing connection is closed with UO', async () => {
      const srv = await startServer(HOST, () => {});
      after(() => srv.close());
      await tp.proxy.applySnapshot({
        listeners: [virtualOutbound('REGISTRY_ONLY'), portListener('0.0.0.0', srv.port, [tcpChain('limited')])],
        clusters: [
          staticCluster('limited', [{ address: HOST, port: srv.port }], {
            circuit_breakers: { thresholds: [{ max_connections: 1 }] },
          }),
          blackHoleCluster(),
        ],
      });
      const first = tp.connect({ address: '10.233.90.55', port: srv.port });
      first.write('hold');
      await new Promise<void>((r) => {
        const t = setInterval(() => {
          if (srv.received() >= 4) {
            clearInterval(t);
            r();
          }
        }, 10);
      });
      const second = tp.connect({ address: '10.233.90.55', port: srv.port });
      await readAll(second);
      const e = await tp.log.waitFor((x) => x.upstream_cluster === 'limited');
      assert.equal(e.response_flags, 'UO');
      first.destroy();
    });

    test('tcp_proxy idle_timeout closes a silent connection', async () => {
      const srv = await startServer(HOST, () => {});
      after(() => srv.close());
      await tp.proxy.applySnapshot({
        listeners: [
          virtualOutbound('REGISTRY_ONLY'),
          portListener('0.0.0.0', srv.port, [tcpChain('idle', {}, { idle_timeout: '0.200s' })]),
        ],
        clusters: [staticCluster('idle', [{ address: HOST, port: srv.port }]), blackHoleCluster()],
      });
      const c = tp.connect({ address: '10.233.90.56', port: srv.port });
      await readAll(c);
      const e = await tp.log.waitFor((x) => x.upstream_cluster === 'idle');
      assert.equal(e.response_code_details, 'idle_timeout');
    });

    test('ORIGINAL_DST cluster connects to the original destination', async () => {
      const srv = await startServer(HOST, (s) => s.end('orig'));
      after(() => srv.close());
      await tp.proxy.applySnapshot({
        listeners: [virtualOutbound('REGISTRY_ONLY'), portListener(HOST, srv.port, [tcpChain('od')])],
        clusters: [originalDstCluster('od'), blackHoleCluster()],
      });
      assert.equal((await readAll(tp.connect({ address: HOST, port: srv.port }))).toString(), 'orig');
    });

    test('slow reader: 1 GB offered while the reader stops; proxy memory stays bounded; all bytes arrive', async () => {
      const total = 1024 * 1024 * 1024;
      const chunk = Buffer.alloc(1024 * 1024, 7);
      let reader: net.Socket | undefined;
      const srv = await startServer(HOST, (s) => {
        reader = s;
        s.pause();
      });
      after(() => srv.close());
      await tp.proxy.applySnapshot({
        listeners: [virtualOutbound('REGISTRY_ONLY'), portListener('0.0.0.0', srv.port, [tcpChain('bulk')])],
        clusters: [staticCluster('bulk', [{ address: HOST, port: srv.port }]), blackHoleCluster()],
      });
      const rssBefore = process.memoryUsage().rss;
      const c = tp.connect({ address: '10.233.90.57', port: srv.port });
      let written = 0;
      let stalled = false;
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          if (!c.write(chunk)) {
            stalled = true;
            c.once('drain', pump);
            return;
          }
        }
        c.end();
      };
      await once(c, 'connect');
      pump();
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(stalled, 'the sender was pushed back');
      assert.ok(written < 64 * 1024 * 1024, `only socket buffers worth of data in flight, got ${written}`);
      const grown = process.memoryUsage().rss - rssBefore;
      assert.ok(grown < 150 * 1024 * 1024, `memory grew by ${grown} bytes while the reader was stopped`);
      // The reader resumes: everything arrives.
      let got = 0;
      reader!.removeAllListeners('data');
      reader!.on('data', (d: Buffer) => {
        got += d.length;
      });
      reader!.resume();
      await once(reader!, 'end');
      reader!.end();
      assert.equal(got, total);
      const e = await tp.log.waitFor((x) => x.upstream_cluster === 'bulk');
      assert.equal(e.bytes_received, total);
    });
  });
