/**
 * The relay thread's lookup (native/decision_table.c) against `decideEgress`, the reference:
 * seeded random snapshots (per-port listeners on wildcard and specific addresses, host routes,
 * CIDRs, port-only chains, default chains, SNI and transport chains, HTTP chains, virtualOutbound
 * chains and its three fallbacks) and destinations drawn from their addresses and around them.
 * Every answer of the native lookup must be the very decision decideEgress returns (same verdict,
 * reason, rule, chain); it may instead leave the connection to JavaScript only where chains are
 * told apart by the ClientHello. Then a proxy serves connections decided on the relay thread.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseIpv4 } from '../decision/ip.js';
import { compileDecisionTable, decideEgress, needsTlsInspection } from '../decision/table.js';
import { readAll, startServer, startTestProxy } from '../testing/harness.js';
import {
  blackHoleCluster,
  httpChain,
  type Mode,
  originalDstCluster,
  passthroughCluster,
  portListener,
  staticCluster,
  tcpChain,
  virtualOutbound,
} from '../testing/resources.js';
import { ClusterTable, ConnectionCounters } from '../upstream/cluster-table.js';
import type { FilterChain, FilterChainMatch, Listener } from '../xds/resources.js';
import { byteEngineUnavailableReason, nativeDecideForTesting } from './byte-engine.js';
import { compileNativeTable, NativeAction } from './native-table.js';

const skip = byteEngineUnavailableReason();

/** mulberry32: a small seeded PRNG, so a failure is reproducible from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ipText = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

interface Random {
  snapshot: Listener[];
  /** Addresses the snapshot names, to probe (and their neighbours). */
  addresses: number[];
  ports: number[];
}

function randomSnapshot(seed: number): Random {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const ports = [80, 443, 3306, 5432, 8080, 9000].filter(() => rnd() < 0.7);
  if (ports.length === 0) ports.push(3306);
  const addresses: number[] = [];
  const newAddress = () => {
    const a = ((10 << 24) | (Math.floor(rnd() * 4) << 16) | (Math.floor(rnd() * 4) << 8) | Math.floor(rnd() * 8)) >>> 0;
    addresses.push(a);
    return a;
  };
  let named = 0;
  const chain = (match: FilterChainMatch, allowTls: boolean): FilterChain => {
    const r = rnd();
    const rule = rnd() < 0.7 ? `ServiceEntry/default/se-${named++}` : undefined;
    const m: FilterChainMatch = { ...match };
    if (allowTls && r < 0.1) m.server_names = [pick(['a.example.com', 'b.example.com', '*.example.org'])];
    else if (allowTls && r < 0.15) m.transport_protocol = pick(['tls', 'raw_buffer']);
    if (r > 0.93) return httpChain(`route-${named}`, m);
    const cluster = pick(['od', 'up', 'PassthroughCluster', 'BlackHoleCluster', 'missing', 'hosts']);
    if (r > 0.88)
      return tcpChain('up', m, {
        rule,
        weighted: [
          { name: 'up', weight: 1 },
          { name: 'od', weight: 1 },
        ],
      });
    return tcpChain(cluster, m, rule ? { rule } : {});
  };
  const listeners: Listener[] = [];
  const mode = pick<Mode>(['ALLOW_ANY', 'REGISTRY_ONLY', 'AUDIT']);
  const vo = virtualOutbound(mode);
  if (rnd() < 0.2) delete (vo as { default_filter_chain?: unknown }).default_filter_chain;
  const allowTls = rnd() < 0.4;
  // virtualOutbound chains for some ports and some prefixes, and some for any port
  for (let i = 0; i < 3; i++) {
    if (rnd() < 0.5) continue;
    const match: FilterChainMatch = {};
    if (rnd() < 0.6) match.destination_port = pick(ports);
    if (rnd() < 0.7)
      match.prefix_ranges = [{ address_prefix: ipText(newAddress()), prefix_len: pick([8, 16, 24, 32]) }];
    if (!match.destination_port && !match.prefix_ranges) continue;
    vo.filter_chains = [...(vo.filter_chains ?? []), chain(match, allowTls)];
  }
  listeners.push(vo);
  const seen = new Set<string>();
  for (const port of ports) {
    // a wildcard per-port listener: host routes, CIDRs, maybe port-only, maybe a default chain
    if (rnd() < 0.8 && !seen.has(`0.0.0.0:${port}`)) {
      seen.add(`0.0.0.0:${port}`);
      const chains: FilterChain[] = [];
      const prefixes = new Set<string>();
      for (let i = 0, n = 1 + Math.floor(rnd() * 6); i < n; i++) {
        const len = pick([32, 32, 32, 24, 16, 8, 0]);
        const a = newAddress();
        const key = `${len === 0 ? 0 : a >>> (32 - len)}/${len}`;
        if (prefixes.has(key)) continue;
        prefixes.add(key);
        chains.push(chain({ prefix_ranges: [{ address_prefix: ipText(a), prefix_len: len }] }, allowTls));
      }
      if (rnd() < 0.4) chains.push(chain({}, allowTls && rnd() < 0.3));
      const dflt = rnd() < 0.3 ? chain({}, false) : undefined;
      listeners.push(portListener('0.0.0.0', port, chains, dflt));
    }
    // an address-specific listener
    if (rnd() < 0.5) {
      const a = ipText(newAddress());
      if (seen.has(`${a}:${port}`)) continue;
      seen.add(`${a}:${port}`);
      const dflt = rnd() < 0.4 ? chain({}, false) : undefined;
      listeners.push(portListener(a, port, rnd() < 0.8 ? [chain({}, allowTls)] : [], dflt));
    }
  }
  return { snapshot: listeners, addresses, ports };
}

describe('relay-thread decision table', { skip }, () => {
  test('the native lookup returns what decideEgress returns (300 seeded random snapshots)', () => {
    let asked = 0;
    let decided = 0;
    let rejected = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const r = randomSnapshot(seed);
      const compiled = compileDecisionTable(r.snapshot, { capturePort: 15001 });
      if (!compiled.table) {
        rejected++; // the generator drew two chains with the same match (a NACK): no table to compare
        continue;
      }
      const table = compiled.table;
      const clusters = new ClusterTable(
        [
          originalDstCluster('od'),
          passthroughCluster(),
          blackHoleCluster(),
          staticCluster('up', [
            { address: '10.9.0.1', port: 7000 },
            { address: '10.9.0.2', port: 7001 },
          ]),
          staticCluster('hosts', [{ address: 'db.example.com', port: 5432 }]),
        ],
        {},
        new ConnectionCounters(),
      );
      const native = compileNativeTable(table, clusters);
      const rnd = prng(seed * 7919);
      const probes: [number, number][] = [];
      for (const a of r.addresses) {
        for (const port of [...r.ports, 15001, 1234]) {
          probes.push([a, port], [(a + 1) >>> 0, port], [(a ^ 0x100) >>> 0, port]);
        }
      }
      for (let i = 0; i < 50; i++) probes.push([Math.floor(rnd() * 2 ** 32), r.ports[i % r.ports.length]!]);
      for (const [ip, port] of probes) {
        const dst = { ip: ipText(ip), port };
        const expected = decideEgress(table, dst);
        const got = nativeDecideForTesting(native.spec, ip, port);
        assert.ok(got !== undefined);
        if (got === -2) {
          asked++;
          assert.ok(
            needsTlsInspection(table, dst) ||
              r.snapshot.some((l) =>
                (l.filter_chains ?? []).some(
                  (c) => c.filter_chain_match?.server_names || c.filter_chain_match?.transport_protocol,
                ),
              ),
            `seed ${seed}: ${dst.ip}:${port} left to JavaScript without SNI/transport chains`,
          );
          continue;
        }
        decided++;
        const d = native.decisions[got];
        assert.equal(
          d,
          expected,
          `seed ${seed}: ${dst.ip}:${port}: native ${d?.verdict}/${d?.reason}/${d?.rule} vs ${expected.verdict}/${expected.reason}/${expected.rule}`,
        );
      }
    }
    assert.ok(rejected < 30, `${rejected} of 300 random snapshots were rejected`);
    assert.ok(decided > 10_000, `only ${decided} destinations decided natively`);
    assert.ok(asked > 0, 'no snapshot exercised the ClientHello hand-off');
  });

  test('what the relay thread does with each decision', () => {
    const listeners = [
      virtualOutbound('REGISTRY_ONLY'),
      portListener('0.0.0.0', 3306, [
        tcpChain('up', { prefix_ranges: [{ address_prefix: '10.0.0.1', prefix_len: 32 }] }),
        tcpChain('od', { prefix_ranges: [{ address_prefix: '10.0.0.2', prefix_len: 32 }] }),
        tcpChain('hosts', { prefix_ranges: [{ address_prefix: '10.0.0.3', prefix_len: 32 }] }),
        tcpChain('missing', { prefix_ranges: [{ address_prefix: '10.0.0.4', prefix_len: 32 }] }),
        httpChain('r', { prefix_ranges: [{ address_prefix: '10.0.0.5', prefix_len: 32 }] }),
        tcpChain(
          'up',
          { prefix_ranges: [{ address_prefix: '10.0.0.6', prefix_len: 32 }] },
          {
            weighted: [{ name: 'up', weight: 1 }],
          },
        ),
      ]),
    ];
    const table = compileDecisionTable(listeners, { capturePort: 15001 }).table!;
    const clusters = new ClusterTable(
      [
        originalDstCluster('od'),
        blackHoleCluster(),
        staticCluster('up', [{ address: '10.9.0.1', port: 7000 }]),
        staticCluster('hosts', [{ address: 'db.example.com', port: 5432 }]),
      ],
      {},
      new ConnectionCounters(),
    );
    const native = compileNativeTable(table, clusters);
    const action = (ip: string) => {
      const i = nativeDecideForTesting(native.spec, parseIpv4(ip)!, 3306)!;
      return i < 0 ? 'ask' : native.actions[i];
    };
    // Without shared counters (no native engine attached) the circuit breaker lives in JavaScript.
    assert.equal(action('10.0.0.1'), NativeAction.JavaScript);
    const counters = new ConnectionCounters();
    counters.attachShared(new Int32Array(16), null);
    const withSlots = compileNativeTable(
      table,
      new ClusterTable(
        [
          originalDstCluster('od'),
          blackHoleCluster(),
          staticCluster('up', [{ address: '10.9.0.1', port: 7000 }]),
          staticCluster('hosts', [{ address: 'db.example.com', port: 5432 }]),
        ],
        {},
        counters,
      ),
    );
    const act = (ip: string) => withSlots.actions[nativeDecideForTesting(withSlots.spec, parseIpv4(ip)!, 3306)!];
    assert.equal(act('10.0.0.1'), NativeAction.Endpoints);
    assert.equal(act('10.0.0.2'), NativeAction.Original);
    assert.equal(act('10.0.0.3'), NativeAction.JavaScript, 'a host name endpoint');
    assert.equal(act('10.0.0.4'), NativeAction.JavaScript, 'an unknown cluster (NC)');
    assert.equal(act('10.0.0.5'), NativeAction.JavaScript, 'an HTTP chain');
    assert.equal(act('10.0.0.6'), NativeAction.JavaScript, 'weighted clusters');
    assert.equal(act('10.0.0.7'), NativeAction.BlackHole, 'registry-only');
    assert.deepEqual(withSlots.endpoints, ['10.9.0.1:7000']);
  });

  test("Istio's unlimited thresholds (max_connections 4294967295) relay on the relay thread, as the control plane sends them", async (t) => {
    const srv = await startServer('127.0.0.1', (s) => s.pipe(s));
    const tp = await startTestProxy();
    t.after(() => Promise.all([tp.proxy.destroy(), srv.close()]));
    const cluster = 'outbound|3306||mysqldb.example';
    const unlimited = 4294967295;
    await tp.proxy.applySnapshot({
      listeners: [
        virtualOutbound('REGISTRY_ONLY'),
        portListener('0.0.0.0', srv.port, [
          tcpChain(cluster, { prefix_ranges: [{ address_prefix: '127.0.0.1', prefix_len: 32 }] }),
        ]),
      ],
      clusters: [
        blackHoleCluster(),
        originalDstCluster(cluster, {
          circuit_breakers: {
            thresholds: [
              {
                max_connections: unlimited,
                max_pending_requests: unlimited,
                max_requests: unlimited,
                max_retries: unlimited,
              },
            ],
          },
        }),
      ],
    });
    assert.equal(tp.proxy.byteEngine, 'native');
    const c = tp.connect({ address: '127.0.0.1', port: srv.port });
    c.end('hello');
    assert.equal((await readAll(c)).toString(), 'hello');
    const ok = await tp.log.waitFor((e) => e.upstream_cluster === cluster);
    assert.equal(ok.response_flags, '-');
    assert.ok(tp.proxy.relayDecisions >= 1, 'decided on the relay thread');
  });

  test('a proxy decides on the relay thread: relayed, black-holed, breaker, logged as in JavaScript', async (t) => {
    const srv = await startServer('127.0.0.1', (s) => s.pipe(s));
    const tp = await startTestProxy();
    t.after(() => Promise.all([tp.proxy.destroy(), srv.close()]));
    const cluster = 'outbound|3306||db.example.com';
    await tp.proxy.applySnapshot({
      listeners: [
        virtualOutbound('REGISTRY_ONLY'),
        portListener('0.0.0.0', srv.port, [
          tcpChain(
            cluster,
            { prefix_ranges: [{ address_prefix: '127.0.0.1', prefix_len: 32 }] },
            { rule: 'ServiceEntry/default/db' },
          ),
        ]),
      ],
      clusters: [
        blackHoleCluster(),
        staticCluster(cluster, [{ address: '127.0.0.1', port: srv.port }], {
          circuit_breakers: { thresholds: [{ max_connections: 1 }] },
        }),
      ],
    });
    assert.equal(tp.proxy.byteEngine, 'native');
    const first = tp.connect({ address: '127.0.0.1', port: srv.port });
    first.write('ping');
    const echoed = await new Promise<string>((resolve) => first.once('data', (d: Buffer) => resolve(d.toString())));
    assert.equal(echoed, 'ping');
    // The breaker allows one: a second connection is refused with UO while the first is open.
    const second = tp.connect({ address: '127.0.0.1', port: srv.port });
    assert.equal((await readAll(second)).length, 0);
    const uo = await tp.log.waitFor((e) => e.response_flags === 'UO');
    assert.deepEqual([uo.decision, uo.reason, uo.rule], ['route', 'exact-ip', 'ServiceEntry/default/db']);
    first.end();
    await readAll(first);
    const ok = await tp.log.waitFor((e) => e.response_flags === '-');
    assert.equal(ok.upstream_host, `127.0.0.1:${srv.port}`);
    assert.equal(ok.bytes_received, 4);
    assert.equal(ok.bytes_sent, 4);
    assert.match(ok.upstream_local_address ?? '', /^127\.0\.0\.1:\d+$/);
    // Not in the registry: closed by the relay thread, logged registry-only.
    const blocked = tp.connect({ address: '127.0.0.9', port: srv.port });
    assert.equal((await readAll(blocked)).length, 0);
    const bh = await tp.log.waitFor((e) => e.decision === 'blackhole');
    assert.deepEqual([bh.reason, bh.upstream_cluster, bh.response_flags], ['registry-only', 'BlackHoleCluster', 'UH']);
    assert.ok(tp.proxy.relayDecisions >= 3, `${tp.proxy.relayDecisions} decided on the relay thread`);
    const metrics = await tp.proxy.metrics.exposition();
    assert.match(metrics, /sluice_egress_decisions_total\{verdict="route",reason="exact-ip"\} 2/);
    assert.match(metrics, /sluice_egress_decisions_total\{verdict="blackhole",reason="registry-only"\} 1/);
    // An upstream that refuses: UF, and the errno in the details, as on the JavaScript path.
    const closed = await startServer('127.0.0.1', () => {});
    await closed.close();
    await tp.proxy.applySnapshot({
      listeners: [
        virtualOutbound('REGISTRY_ONLY'),
        portListener('0.0.0.0', srv.port, [
          tcpChain(cluster, { prefix_ranges: [{ address_prefix: '127.0.0.1', prefix_len: 32 }] }),
        ]),
      ],
      clusters: [blackHoleCluster(), staticCluster(cluster, [{ address: '127.0.0.1', port: closed.port }])],
    });
    const refused = tp.connect({ address: '127.0.0.1', port: srv.port });
    assert.equal((await readAll(refused)).length, 0);
    const uf = await tp.log.waitFor((e) => e.response_flags === 'UF');
    assert.equal(uf.response_code_details, `connect ECONNREFUSED 127.0.0.1:${closed.port}`);
    await tp.proxy.applySnapshot({
      clusters: [
        blackHoleCluster(),
        staticCluster(cluster, [{ address: '127.0.0.1', port: srv.port }], {
          circuit_breakers: { thresholds: [{ max_connections: 1 }] },
        }),
      ],
    });
    // The breaker slot was given back: one more connection goes through.
    const third = tp.connect({ address: '127.0.0.1', port: srv.port });
    third.end('again');
    assert.equal((await readAll(third)).toString(), 'again');
  });
});
