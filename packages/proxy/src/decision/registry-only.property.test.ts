/**
 * Property: under REGISTRY_ONLY, a destination the snapshot does not allow never receives a byte;
 * an allowed one does. Seeded random snapshots and destinations on 127.x.y.z with real listeners.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readAll, startServer, startTestProxy } from '../testing/harness.js';
import { blackHoleCluster, originalDstCluster, portListener, tcpChain, virtualOutbound } from '../testing/resources.js';
import type { Listener } from '../xds/resources.js';
import { decideEgress } from './table.js';

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

test('REGISTRY_ONLY: a destination not allowed never receives a byte (seeded random snapshots)', async (t) => {
  const seeds = [1, 2, 3, 4, 5];
  const tp = await startTestProxy();
  t.after(() => tp.proxy.destroy());
  // 12 real destinations: 127.88.<i>.<j> with their own listeners.
  const servers = await Promise.all(
    Array.from({ length: 12 }, (_, i) => startServer(`127.88.${1 + (i % 3)}.${10 + i}`, (s) => s.end('hi'))),
  );
  t.after(() => Promise.all(servers.map((s) => s.close())));
  for (const seed of seeds) {
    const rnd = prng(seed);
    const byPort = new Map<number, ReturnType<typeof tcpChain>[]>();
    const exact: Listener[] = [];
    for (const s of servers) {
      const pick = rnd();
      if (pick < 0.25)
        exact.push(portListener(s.address, s.port, [tcpChain('od', {}, { rule: `exact-${s.address}` })]));
      else if (pick < 0.5) {
        const len = [8, 16, 24, 32][Math.floor(rnd() * 4)]!;
        const chains = byPort.get(s.port) ?? [];
        chains.push(tcpChain('od', { prefix_ranges: [{ address_prefix: s.address, prefix_len: len }] }));
        byPort.set(s.port, chains);
      }
      // else: not registered → must be black-holed
    }
    const listeners = [
      virtualOutbound('REGISTRY_ONLY'),
      ...exact,
      ...[...byPort].map(([port, chains]) => portListener('0.0.0.0', port, chains)),
    ];
    const applied = await tp.proxy.applySnapshot(
      { listeners, clusters: [originalDstCluster('od'), blackHoleCluster()] },
      `seed-${seed}`,
    );
    assert.deepEqual(applied, { accepted: true });
    for (const s of servers) {
      const expected = decideEgress(tp.proxy.snapshot!.table, { ip: s.address, port: s.port });
      const before = s.received();
      const c = tp.connect({ address: s.address, port: s.port });
      c.write('payload');
      const got = await readAll(c);
      if (expected.verdict === 'blackhole') {
        assert.equal(got.length, 0, `seed ${seed}: ${s.address}:${s.port} was answered`);
        assert.equal(s.received(), before, `seed ${seed}: ${s.address}:${s.port} received bytes`);
      } else {
        assert.equal(got.toString(), 'hi', `seed ${seed}: ${s.address}:${s.port} allowed but not reached`);
      }
    }
  }
  // Every unregistered destination was black-holed and logged as such.
  const blocked = tp.log.entries.filter((e) => e.decision === 'blackhole');
  assert.ok(blocked.length > 0);
  assert.ok(blocked.every((e) => e.reason === 'registry-only' && e.bytes_received === 0 && e.bytes_sent === 0));
});
