/**
 * Decision cost and idle memory of Sluice's proxy as the mesh grows.
 *
 *   node --import tsx bench/proxy/decision.ts [--sizes 100,10000,100000] [--lookups 1000000] [--rss-entries 10000]
 *
 * For each size, a snapshot of that many ServiceEntry-style chains (Istio's shape: per-port
 * listeners `0.0.0.0_<port>` on 5 ports, one chain per entry matching its /32 — every 100th entry a
 * /24 CIDR instead — each to an ORIGINAL_DST cluster of its own) goes through the proxy's normal
 * snapshot path; then `decideEgress` runs on pre-generated destinations (90 % registered addresses,
 * 10 % unregistered) and the mean µs per decision is printed, then the same destinations through the
 * relay thread's lookup (the table compiled for it, timed in C: `native µs`). Idle RSS: a proxy process (native
 * byte path, after a full GC) holding an empty snapshot and one with `--rss-entries` entries.
 * Last line: one JSON object.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decideEgress, Proxy as SluiceProxy } from '@sluice/proxy';
import { parseIpv4 } from '../../packages/proxy/src/decision/ip.js';
import { nativeDecideManyForTesting } from '../../packages/proxy/src/native/byte-engine.js';
import { compileNativeTable } from '../../packages/proxy/src/native/native-table.js';
import {
  originalDstCluster,
  portListener,
  tcpChain,
  virtualOutbound,
} from '../../packages/proxy/src/testing/resources.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PORTS = [443, 3306, 5432, 6379, 27017] as const;

const { values: opts } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100,10000,100000' },
    lookups: { type: 'string', default: '1000000' },
    'rss-entries': { type: 'string', default: '10000' },
    'rss-child': { type: 'string' },
  },
});

interface Entry {
  ip: string;
  prefixLen: number;
  port: number;
}

function entries(n: number): Entry[] {
  const out: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const port = PORTS[i % PORTS.length] as number;
    if (i % 100 === 99) out.push({ ip: `10.${(i >> 8) & 255}.${i & 255}.0`, prefixLen: 24, port });
    else out.push({ ip: `172.${16 + ((i >> 16) & 15)}.${(i >> 8) & 255}.${i & 255}`, prefixLen: 32, port });
  }
  return out;
}

function snapshotOf(list: Entry[]) {
  const chainsByPort = new Map<number, ReturnType<typeof tcpChain>[]>();
  const clusters = list.map((e, i) => {
    const name = `outbound|${e.port}||svc-${i}.bench.example`;
    const chains = chainsByPort.get(e.port) ?? [];
    chains.push(
      tcpChain(
        name,
        { prefix_ranges: [{ address_prefix: e.ip, prefix_len: e.prefixLen }] },
        { name: `${e.ip}_${e.port}`, rule: `ServiceEntry/bench/svc-${i}` },
      ),
    );
    chainsByPort.set(e.port, chains);
    return originalDstCluster(name);
  });
  const listeners = [
    virtualOutbound('REGISTRY_ONLY'),
    ...[...chainsByPort].map(([port, chains]) => portListener('0.0.0.0', port, chains)),
  ];
  return { listeners, clusters: [...clusters, originalDstCluster('BlackHoleCluster')] };
}

async function proxyWith(n: number): Promise<{ proxy: SluiceProxy; compileMs: number }> {
  const proxy = new SluiceProxy({
    outboundPort: 0,
    inboundPort: false,
    adminPort: false,
    statsPort: false,
    bindAddress: '127.0.0.1',
    accessLogWrite: () => {},
  });
  await proxy.start();
  const input = snapshotOf(entries(n));
  const t0 = performance.now();
  const r = await proxy.applySnapshot(input as never, `bench-${n}`);
  const compileMs = performance.now() - t0;
  if (!r.accepted) throw new Error(`snapshot of ${n} entries rejected: ${r.detail}`);
  return { proxy, compileMs };
}

async function decisionCost(
  n: number,
  lookups: number,
): Promise<{ us: number; nativeUs: number | undefined; compileMs: number; hits: number }> {
  const { proxy, compileMs } = await proxyWith(n);
  try {
    const table = proxy.snapshot?.table;
    const list = entries(n);
    const dsts = Array.from({ length: 100_000 }, (_, k) => {
      if (k % 10 === 9) return { ip: `192.0.2.${k & 255}`, port: PORTS[k % PORTS.length] as number };
      const e = list[(k * 7919) % list.length] as Entry;
      return { ip: e.prefixLen === 32 ? e.ip : e.ip.replace(/\.0$/, `.${1 + (k % 254)}`), port: e.port };
    });
    let hits = 0;
    for (let i = 0; i < 20_000; i++) decideEgress(table, dsts[i % dsts.length] ?? null); // warm-up
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < lookups; i++) {
      if (decideEgress(table, dsts[i % dsts.length] ?? null).verdict === 'route') hits++;
    }
    const ns = Number(process.hrtime.bigint() - t0);
    const snap = proxy.snapshot;
    let nativeUs: number | undefined;
    if (snap) {
      const native = compileNativeTable(snap.table, snap.clusters);
      const ips = Uint32Array.from(dsts, (d) => parseIpv4(d.ip) ?? 0);
      const ports = Int32Array.from(dsts, (d) => d.port);
      nativeDecideManyForTesting(native.spec, ips, ports, 200_000); // warm-up
      const nativeNs = nativeDecideManyForTesting(native.spec, ips, ports, lookups);
      if (nativeNs !== undefined) nativeUs = nativeNs / lookups / 1000;
    }
    return { us: ns / lookups / 1000, nativeUs, compileMs, hits: hits / lookups };
  } finally {
    await proxy.destroy();
  }
}

function rssMiB(): number {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.replace(/\D+/g, '') ?? 0) / 1024;
}

async function rssChild(n: number): Promise<void> {
  const { proxy } = await proxyWith(n);
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 200));
  }
  process.stdout.write(`${JSON.stringify({ entries: n, rss_mib: rssMiB(), engine: proxy.byteEngine })}\n`);
  await proxy.destroy();
}

function idleRss(n: number): number {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', path.join(here, 'decision.ts'), '--rss-child', String(n)],
    { encoding: 'utf8', cwd: path.resolve(here, '../..'), timeout: 120_000 },
  );
  return JSON.parse(out.trim().split('\n').pop() as string).rss_mib;
}

async function main(): Promise<void> {
  if (opts['rss-child'] !== undefined) return rssChild(Number(opts['rss-child']));
  const sizes = (opts.sizes as string).split(',').map(Number);
  const lookups = Number(opts.lookups);
  const decision: Record<string, number> = {};
  const nativeDecision: Record<string, number> = {};
  const compile: Record<string, number> = {};
  console.log(
    `${'entries'.padStart(8)}${'µs/decision'.padStart(13)}${'native µs'.padStart(11)}${'compile ms'.padStart(12)}${'routed'.padStart(8)}`,
  );
  for (const n of sizes) {
    const r = await decisionCost(n, lookups);
    decision[n] = Number(r.us.toFixed(3));
    if (r.nativeUs !== undefined) nativeDecision[n] = Number(r.nativeUs.toFixed(3));
    compile[n] = Math.round(r.compileMs);
    console.log(
      `${String(n).padStart(8)}${r.us.toFixed(3).padStart(13)}${(r.nativeUs?.toFixed(3) ?? '-').padStart(11)}${String(Math.round(r.compileMs)).padStart(12)}${`${Math.round(r.hits * 100)}%`.padStart(8)}`,
    );
  }
  const rssEntries = Number(opts['rss-entries']);
  const rssEmpty = idleRss(0);
  const rssFull = idleRss(rssEntries);
  console.log(`idle RSS: ${rssEmpty.toFixed(1)} MiB empty, ${rssFull.toFixed(1)} MiB with ${rssEntries} entries`);
  console.log(
    JSON.stringify({
      us_per_decision: decision,
      native_us_per_decision: nativeDecision,
      compile_ms: compile,
      idle_rss_mib: { 0: Number(rssEmpty.toFixed(1)), [rssEntries]: Number(rssFull.toFixed(1)) },
      lookups,
    }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
