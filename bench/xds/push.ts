/**
 * Push latency: time from a ServiceEntry written to a real SQLite store (holding 1,000 entries)
 * to the last of N connected proxies acking the resulting config, for N = 1, 100, 1000 — real gRPC
 * ADS streams from this one process. The clients ACK at once and skip decoding resources (they
 * read version, type and nonce only), so the figure is the control plane's: watch → debounce →
 * generate → encode → write → ACK.
 *
 *   node --import tsx bench/xds/push.ts [--rounds 20] [--entries 1000] [--debounce-ms 20] [--sizes 1,100,1000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Resource } from '@sluice/config';
import { openSqliteStore } from '@sluice/store';
import { type DiscoveryResponse, TypeUrl } from '@sluice/xds';
import protobuf from 'protobufjs';
import { AdsTestClient } from '../../packages/controlplane/src/xds/ads-client.js';
import { StoreConfigSource, XdsServer } from '../../packages/controlplane/src/xds/index.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const ROUNDS = Number(arg('rounds', '20'));
const ENTRIES = Number(arg('entries', '1000'));
const DEBOUNCE_MS = Number(arg('debounce-ms', '20'));
const SIZES = arg('sizes', '1,100,1000').split(',').map(Number);
const ROUND_TIMEOUT_MS = 30_000;
const SHAPES = 10;

/** Reads only version_info (1), type_url (4) and nonce (5) of a DiscoveryResponse. */
function lightResponse(buf: Buffer): DiscoveryResponse {
  const r = protobuf.Reader.create(buf);
  const out: DiscoveryResponse = { version_info: '', resources: [], type_url: '', nonce: '' };
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1) out.version_info = r.string();
    else if (field === 4) out.type_url = r.string();
    else if (field === 5) out.nonce = r.string();
    else r.skipType(tag & 7);
  }
  return out;
}

function entry(i: number): Resource {
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'ServiceEntry',
    metadata: { name: `ext-${i}`, namespace: 'default' },
    spec: {
      hosts: [`ext-${i}.example`],
      addresses: [`10.${200 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}/32`],
      ports: [{ name: 'tcp', number: 3000 + (i % 20), protocol: 'TCP' }],
      location: 'MESH_EXTERNAL',
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-xds-'));
  const store = openSqliteStore(path.join(dir, 'store.db'));
  const source = new StoreConfigSource(store);
  const server = new XdsServer({ source, debounceMs: DEBOUNCE_MS });
  const results: { proxies: number; rounds: number; p50: number; p99: number; max: number }[] = [];
  try {
    await store.create({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'MeshConfig',
      metadata: { name: 'mesh', namespace: '' },
      spec: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } },
    });
    for (let i = 0; i < ENTRIES; i++) await store.create(entry(i));
    const port = await server.listen(['127.0.0.1'], 0);
    let next = ENTRIES;
    for (const n of SIZES) {
      const clients: AdsTestClient[] = [];
      for (let i = 0; i < n; i++) {
        const c = new AdsTestClient({
          address: `127.0.0.1:${port}`,
          nodeId: `sidecar~10.233.${Math.floor(i / 250)}.${i % 250}~app-${i}.default~default.svc.cluster.local`,
          metadata: { NAMESPACE: 'default', LABELS: { app: `app-${i % SHAPES}` } },
          deserialize: lightResponse,
        });
        clients.push(c);
        const ackLoop = async () => {
          for (;;) {
            const r = await c.next(undefined, 3_600_000).catch(() => undefined);
            if (!r) return;
            c.ack(r);
          }
        };
        void ackLoop();
        for (const t of [TypeUrl.Cluster, TypeUrl.Listener, TypeUrl.NameTable]) c.send({ typeUrl: t });
      }
      const ids = clients.map(
        (_, i) => `sidecar~10.233.${Math.floor(i / 250)}.${i % 250}~app-${i}.default~default.svc.cluster.local`,
      );
      const warm = await server.waitForAcks({ timeoutMs: 60_000, proxies: ids });
      if (warm.notAcked.length) throw new Error(`${warm.notAcked.length} of ${n} proxies never synced`);
      const times: number[] = [];
      const rounds = n >= 1000 ? Math.max(5, Math.floor(ROUNDS / 2)) : ROUNDS;
      for (let r = 0; r < rounds; r++) {
        const t0 = performance.now();
        const created = await store.create(entry(next++));
        const res = await server.waitForAcks({
          version: created.metadata.resourceVersion,
          timeoutMs: ROUND_TIMEOUT_MS,
          proxies: ids,
        });
        if (res.notAcked.length)
          throw new Error(`round ${r}: ${res.notAcked.length} of ${n} proxies did not ack in ${ROUND_TIMEOUT_MS} ms`);
        times.push(performance.now() - t0);
      }
      for (const c of clients) c.close();
      times.sort((a, b) => a - b);
      const row = {
        proxies: n,
        rounds,
        p50: percentile(times, 50),
        p99: percentile(times, 99),
        max: times.at(-1) ?? Number.NaN,
      };
      results.push(row);
      console.log(
        `N=${String(n).padStart(5)}  rounds=${String(rounds).padStart(3)}  p50=${row.p50.toFixed(1).padStart(8)} ms  p99=${row.p99.toFixed(1).padStart(8)} ms  max=${row.max.toFixed(1).padStart(8)} ms`,
      );
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await server.close();
    server.destroy();
    source.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const target = results.find((r) => r.proxies === 1000);
  console.log(
    JSON.stringify({
      bench: 'xds-push',
      entries: ENTRIES,
      debounceMs: DEBOUNCE_MS,
      shapes: SHAPES,
      results,
      target: { proxies: 1000, p99Ms: 100, met: target ? target.p99 < 100 : null },
    }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
