/**
 * Push convergence: time from a ServiceEntry write returning (what `sluice apply` waits for) to the
 * last of N connected proxies acking the resulting config, for N = 1, 100, 1000, with 1,000
 * ServiceEntries stored in a real SQLite store. The xDS server runs in this process; the N proxies
 * are real gRPC streams from ONE separate child process (sim-proxies.ts, one HTTP/2 connection
 * each), state of the world and incremental (delta) in turn. Each round alternately creates a new
 * ServiceEntry and deletes it again; the clock stops when the server has the last ACK for that
 * store revision (`XdsServer.waitForAcks`).
 *
 * The mesh: a MeshConfig (REGISTRY_ONLY), 1,000 TCP ServiceEntries with a /32 address each on 20
 * ports, and ten Kubernetes Services `app-0`…`app-9`; proxy i has labels `app: app-<i mod 10>`, so
 * there are ten proxy shapes sharing their outbound config and differing in their inbound one.
 *
 *   node --import tsx bench/xds/push.ts [--rounds 20] [--entries 1000] [--debounce-ms 20]
 *        [--sizes 1,100,1000] [--modes sotw,delta] [--client http2|grpc-js] [--cpu-profile <path prefix>]
 *        [--warmup 2] [--times]
 *
 * `--client` picks the simulator's gRPC client (see sim-proxies.ts). `--cpu-profile p` writes CPU
 * profiles covering only the measured rounds of each run: this process (the server side) to
 * `p-<mode>-<N>.cpuprofile`, the simulator to `p-sim-<mode>-<N>.cpuprofile`.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Resource } from '@sluice/config';
import { openSqliteStore } from '@sluice/store';
import { StoreConfigSource, XdsServer } from '../../packages/controlplane/src/xds/index.js';
import type { SimOptions } from './sim-proxies.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const ROUNDS = Number(arg('rounds', '20'));
const ENTRIES = Number(arg('entries', '1000'));
const DEBOUNCE_MS = Number(arg('debounce-ms', '20'));
const SIZES = arg('sizes', '1,100,1000').split(',').map(Number);
const MODES = arg('modes', 'sotw,delta').split(',') as SimOptions['mode'][];
const CLIENT = arg('client', 'http2') as SimOptions['client'];
const ROUND_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 180_000;
const PROFILE = arg('cpu-profile', '');
/** Unmeasured rounds after the proxies connected (the server's first pushes of a change, cold). */
const WARMUP = Number(arg('warmup', '2'));
/** `--times`: also print every round's convergence time, in order. */
const TIMES = process.argv.includes('--times');
const SHAPES = 10;
const SIM = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sim-proxies.ts');

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

function appService(k: number): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `app-${k}`, namespace: 'default' },
    spec: {
      clusterIP: `10.96.0.${10 + k}`,
      selector: { app: `app-${k}` },
      ports: [{ name: 'tcp-app', port: 9000 + k, targetPort: 9000 + k }],
    },
  };
}

/** CPU profile of the measured rounds only (node:inspector), when --cpu-profile is given. */
async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  if (!PROFILE) return fn();
  const session = new Session();
  session.connect();
  const post = (method: string) =>
    new Promise<unknown>((resolve, reject) => session.post(method, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    writeFileSync(`${PROFILE}-${name}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const proxyId = (i: number) =>
  `sidecar~10.233.${Math.floor(i / 250)}.${i % 250}~app-${i}.default~default.svc.cluster.local`;

interface SimStats {
  responses: number;
  bytes: number;
  resources: number;
  removed: number;
  errors: number;
  firstError: string;
  /** CPU time the simulator has used. */
  cpuMs: number;
}

/** Forks the simulator with N streams; resolves once it has opened them all. */
function startSim(opts: SimOptions) {
  const child = fork(SIM, [JSON.stringify(opts)], {
    execArgv: ['--import', 'tsx', '--max-old-space-size=8192'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting: ((s: SimStats) => void)[] = [];
  const profiling: (() => void)[] = [];
  let exited = false;
  const connected = new Promise<void>((resolve, reject) => {
    child.on('message', (m: { event: string } & SimStats) => {
      if (m.event === 'connected') resolve();
      if (m.event === 'stats') waiting.shift()?.(m);
      if (m.event === 'profiled') profiling.shift()?.();
    });
    child.on('exit', (code) => {
      exited = true;
      reject(new Error(`simulator exited (${code}) before connecting`));
      for (const w of waiting.splice(0))
        w({ responses: 0, bytes: 0, resources: 0, removed: 0, errors: 1, firstError: `exit ${code}`, cpuMs: 0 });
    });
  });
  const ask = (cmd: 'stats' | 'close'): Promise<SimStats> =>
    new Promise((resolve, reject) => {
      if (exited || !child.connected) return reject(new Error('simulator is gone'));
      waiting.push(resolve);
      child.send({ cmd });
    });
  /** Starts, or stops and writes, a CPU profile of the simulator. */
  const profile = (cmd: 'profile-start' | 'profile-stop', file?: string): Promise<void> =>
    new Promise((resolve) => {
      if (exited || !child.connected) return resolve();
      profiling.push(resolve);
      child.send({ cmd, file });
    });
  const stop = async (): Promise<SimStats | undefined> => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const s = await ask('close').catch(() => undefined);
    clearTimeout(timer);
    return s;
  };
  return { connected, stats: () => ask('stats'), profile, stop };
}

interface Row {
  mode: string;
  proxies: number;
  rounds: number;
  p50: number;
  p99: number;
  max: number;
  kbPerProxyPerRound: number;
  /** Mean time the server spent generating, encoding and writing one push to every stream. */
  serverPushMs: number;
  /** CPU time (user + system) per round of this process (the server) and of the simulator. */
  serverCpuMs: number;
  simCpuMs: number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'slt-xdsperf-bench-'));
  const store = openSqliteStore(path.join(dir, 'store.db'));
  const source = new StoreConfigSource(store);
  const server = new XdsServer({ source, debounceMs: DEBOUNCE_MS });
  const results: Row[] = [];
  let sim: ReturnType<typeof startSim> | undefined;
  try {
    await store.create({
      apiVersion: 'sluice.dev/v1alpha1',
      kind: 'MeshConfig',
      metadata: { name: 'mesh', namespace: '' },
      spec: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } },
    });
    for (let k = 0; k < SHAPES; k++) await store.create(appService(k));
    for (let i = 0; i < ENTRIES; i++) await store.create(entry(i));
    const port = await server.listen(['127.0.0.1'], 0);
    const edsNames = Array.from(
      { length: SHAPES },
      (_, k) => `outbound|${9000 + k}||app-${k}.default.svc.cluster.local`,
    );
    let next = ENTRIES;
    let pushSum = 0;
    let pushCount = 0;
    for (const mode of MODES) {
      for (const n of SIZES) {
        const ids = Array.from({ length: n }, (_, i) => proxyId(i));
        const labels = ids.map((_, i) => ({ app: `app-${i % SHAPES}` }));
        sim = startSim({ mode, client: CLIENT, address: `127.0.0.1:${port}`, ids, labels, edsNames });
        await sim.connected;
        const warm = await server.waitForAcks({ timeoutMs: CONNECT_TIMEOUT_MS, proxies: ids });
        if (warm.notAcked.length) throw new Error(`${mode}: ${warm.notAcked.length} of ${n} proxies never synced`);
        let created: string | undefined;
        /** One round: a ServiceEntry created (or the one created before deleted), until every proxy acked it. */
        const round = async (label: string): Promise<number> => {
          const written = created
            ? await store.delete({ kind: 'ServiceEntry', namespace: 'default', name: created })
            : await store.create(entry(next++));
          created = created ? undefined : written.metadata.name;
          const t0 = performance.now();
          const res = await server.waitForAcks({
            version: written.metadata.resourceVersion,
            timeoutMs: ROUND_TIMEOUT_MS,
            proxies: ids,
          });
          if (res.notAcked.length) {
            throw new Error(`${mode} ${label}: ${res.notAcked.length} of ${n} proxies did not ack in time`);
          }
          return performance.now() - t0;
        };
        for (let w = 0; w < WARMUP; w++) await round(`warm-up round ${w}`);
        const before = await sim.stats();
        {
          const v = (await server.metrics.pushDuration?.get())?.values ?? [];
          pushSum = v.find((x) => x.metricName?.endsWith('_sum'))?.value ?? 0;
          pushCount = v.find((x) => x.metricName?.endsWith('_count'))?.value ?? 0;
        }
        const times: number[] = [];
        const rounds = n >= 1000 ? Math.max(5, Math.floor(ROUNDS / 2)) : ROUNDS;
        if (PROFILE) await sim.profile('profile-start');
        const cpu0 = process.cpuUsage();
        await profiled(`${mode}-${n}`, async () => {
          for (let r = 0; r < rounds; r++) times.push(await round(`round ${r}`));
        });
        const cpu = process.cpuUsage(cpu0);
        const after = await sim.stats();
        if (PROFILE) await sim.profile('profile-stop', `${PROFILE}-sim-${mode}-${n}.cpuprofile`);
        const pushes = (await server.metrics.pushDuration?.get())?.values ?? [];
        const sum = pushes.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
        const count = pushes.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
        const pushMs = count > pushCount ? ((sum - pushSum) * 1000) / (count - pushCount) : Number.NaN;
        pushSum = sum;
        pushCount = count;
        const end = await sim.stop();
        sim = undefined;
        if (end?.errors) throw new Error(`${mode}: ${end.errors} stream errors, first: ${end.firstError}`);
        if (created) await store.delete({ kind: 'ServiceEntry', namespace: 'default', name: created });
        if (TIMES) console.log(`${mode} N=${n} rounds (ms, in order): ${times.map((t) => t.toFixed(0)).join(' ')}`);
        times.sort((a, b) => a - b);
        const row: Row = {
          mode,
          proxies: n,
          rounds,
          p50: percentile(times, 50),
          p99: percentile(times, 99),
          max: times.at(-1) ?? Number.NaN,
          kbPerProxyPerRound: (after.bytes - before.bytes) / 1024 / rounds / n,
          serverPushMs: pushMs,
          serverCpuMs: (cpu.user + cpu.system) / 1000 / rounds,
          simCpuMs: (after.cpuMs - before.cpuMs) / rounds,
        };
        results.push(row);
        console.log(
          `${mode.padEnd(5)} N=${String(n).padStart(5)}  rounds=${String(rounds).padStart(3)}  p50=${row.p50.toFixed(1).padStart(8)} ms  p99=${row.p99.toFixed(1).padStart(8)} ms  max=${row.max.toFixed(1).padStart(8)} ms  received/proxy/round=${row.kbPerProxyPerRound.toFixed(1).padStart(7)} KB  server push=${row.serverPushMs.toFixed(1).padStart(7)} ms  cpu/round server=${row.serverCpuMs.toFixed(0).padStart(5)} sim=${row.simCpuMs.toFixed(0).padStart(5)} ms`,
        );
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  } finally {
    if (sim) await sim.stop();
    await server.close();
    server.destroy();
    source.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const target = (mode: string) => results.find((r) => r.mode === mode && r.proxies === 1000);
  console.log(
    JSON.stringify({
      bench: 'xds-push',
      entries: ENTRIES,
      debounceMs: DEBOUNCE_MS,
      shapes: SHAPES,
      results,
      target: {
        proxies: 1000,
        p99Ms: 100,
        sotwMet: target('sotw') ? target('sotw')!.p99 < 100 : null,
        deltaMet: target('delta') ? target('delta')!.p99 < 100 : null,
      },
    }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
