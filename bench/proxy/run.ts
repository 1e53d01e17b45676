/**
 * Proxy benchmark: direct connection vs HAProxy (mode tcp) vs Sluice's proxy, in the same run,
 * on loopback, driven by a C load generator (bench/proxy/loadgen.c, compiled here with gcc).
 *
 *   npm run bench:proxy [-- --seconds 4 --rounds 5 --bulk-mb 2000 --conns 50 --engine native --cpus 0-1
 *                          --relay-threads 1,2 --baseline /path/to/other/checkout]
 *
 * `--baseline DIR` adds target `base`: the proxy of another checkout (say, the previous commit),
 * interleaved with the others, so a code change is measured against its predecessor in one run.
 *
 * Fairness: Sluice runs one event loop, plus N relay threads with the native byte path
 * (`--engine native`, the default; `--relay-threads` lists the N to compare, each against its own
 * HAProxy); HAProxy gets `nbthread` = Sluice's thread count (N + 1), and both run
 * under `taskset -c <cpus>` (default: every online core). Rounds are interleaved (round 1 of every
 * target, then round 2…) so load from elsewhere on the machine hits all targets alike; figures are
 * medians over rounds.
 *
 * Prints a table and, as its last line, one JSON object with the Sluice ÷ HAProxy ratios
 * ({"rr50", "churn", "bulk"} plus p99 and raw figures).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sluiceProxy } from './sluice-target.js';
import { direct, freePort, haproxy, stopChild, type Target, waitForPort } from './targets.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    'bulk-mb': { type: 'string', default: '2000' },
    conns: { type: 'string', default: '50' },
    'churn-conc': { type: 'string', default: '50' },
    engine: { type: 'string', default: 'native' },
    cpus: { type: 'string', default: `0-${os.availableParallelism() - 1}` },
    rounds: { type: 'string', default: '5' },
    'relay-threads': { type: 'string', default: '1' },
    /** A second checkout of the repository (node_modules and native build in place): its proxy runs as target `base`. */
    baseline: { type: 'string' },
  },
});
const seconds = Number(opts.seconds);
const bulkBytes = Number(opts['bulk-mb']) * 1e6;
const conns = Number(opts.conns);
const churnConc = Number(opts['churn-conc']);
const engine = opts.engine === 'js' ? 'js' : 'native';
const relayCounts = engine === 'native' ? String(opts['relay-threads']).split(',').map(Number) : [0];
if (relayCounts.some((n) => !Number.isInteger(n) || n < 0 || n > 16))
  throw new Error('--relay-threads: integers 1..16');
const cpus = opts.cpus as string;
const rounds = Number(opts.rounds);

function buildLoadgen(): string {
  const out = path.join(root, '.cache', 'bench', 'loadgen');
  const src = path.join(here, 'loadgen.c');
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(path.dirname(out), { recursive: true });
    execFileSync('gcc', ['-O2', '-Wall', '-o', out, src], { stdio: 'inherit' });
  }
  return out;
}

const loadgen = buildLoadgen();

function runLoad(args: string[]): Record<string, number> {
  const out = execFileSync(loadgen, args, { encoding: 'utf8', timeout: (seconds + 60) * 1000 });
  return JSON.parse(out.trim().split('\n').pop() as string);
}

function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ticks = Number(stat[11]) + Number(stat[12]);
    return ticks / 100;
  } catch {
    return 0;
  }
}

interface Row {
  target: string;
  bulkGbps: number;
  rps: number;
  rrP50: number;
  rrP99: number;
  cps: number;
  churnP99: number;
  churnFailed: number;
  cpuPerRequestUs: number;
  cpuPerConnectionUs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

interface Samples {
  bulk: number[];
  rps: number[];
  p50: number[];
  p99: number[];
  cps: number[];
  cp99: number[];
  /** Proxy CPU µs per request (rr) and per connection (churn). */
  cpuRr: number[];
  cpuChurn: number[];
  failed: number;
}

function runRound(t: Target, acc: Samples, r: number): void {
  const b = runLoad(['bulk', String(t.sinkPort), String(bulkBytes)]);
  if (b.received !== bulkBytes) throw new Error(`${t.name}: bulk received ${b.received} of ${bulkBytes} bytes`);
  acc.bulk.push(b.gbps ?? 0);
  let cpu = cpuSeconds(t.pid);
  const q = runLoad(['rr', String(t.echoPort), String(conns), String(seconds), '64']);
  if (t.pid) acc.cpuRr.push(((cpuSeconds(t.pid) - cpu) * 1e6) / Math.max(1, q.count ?? 0));
  acc.rps.push(q.rps ?? 0);
  acc.p50.push(q.p50_us ?? 0);
  acc.p99.push(q.p99_us ?? 0);
  cpu = cpuSeconds(t.pid);
  const c = runLoad(['churn', String(t.echoPort), String(churnConc), String(seconds)]);
  if (t.pid) acc.cpuChurn.push(((cpuSeconds(t.pid) - cpu) * 1e6) / Math.max(1, c.count ?? 0));
  acc.cps.push(c.cps ?? 0);
  acc.cp99.push(c.p99_us ?? 0);
  acc.failed += c.failed ?? 0;
  process.stderr.write(
    `  round ${r + 1}/${rounds} ${t.name.padEnd(8)} bulk ${b.gbps} Gbit/s, rr ${q.rps} req/s (p99 ${q.p99_us} µs), churn ${c.cps} conn/s\n`,
  );
}

function summarize(t: Target, acc: Samples): Row {
  return {
    target: t.name,
    bulkGbps: median(acc.bulk),
    rps: median(acc.rps),
    rrP50: median(acc.p50),
    rrP99: median(acc.p99),
    cps: median(acc.cps),
    churnP99: median(acc.cp99),
    churnFailed: acc.failed,
    cpuPerRequestUs: median(acc.cpuRr),
    cpuPerConnectionUs: median(acc.cpuChurn),
  };
}

async function main() {
  const echoPort = await freePort();
  const sinkPort = await freePort();
  const echo = spawn(loadgen, ['echo', String(echoPort)], { stdio: 'ignore' });
  const sink = spawn(loadgen, ['sink', String(sinkPort)], { stdio: 'ignore' });
  const targets: Target[] = [];
  try {
    await waitForPort(echoPort);
    await waitForPort(sinkPort);
    process.stderr.write(
      `proxy benchmark: ${rounds} rounds, ${seconds} s per load, bulk ${bulkBytes / 1e6} MB, rr ${conns} conns × 64 B, churn ${churnConc} parallel\n` +
        relayCounts
          .map(
            (n) =>
              `  Sluice: ${engine} byte path, ${n + 1} thread(s) (event loop${n ? ` + ${n} relay thread(s)` : ''}); HAProxy: nbthread ${n + 1}; both on cpus ${cpus}\n`,
          )
          .join(''),
    );
    const suffix = (n: number) => (relayCounts.length > 1 ? `/${n + 1}` : '');
    targets.push(direct(echoPort, sinkPort));
    for (const n of relayCounts) {
      targets.push({ ...(await haproxy(echoPort, sinkPort, n + 1, cpus)), name: `haproxy${suffix(n)}` });
      targets.push({
        ...(await sluiceProxy(echoPort, sinkPort, engine, cpus, Math.max(1, n))),
        name: `sluice${suffix(n)}`,
      });
    }
    if (opts.baseline) {
      const n = relayCounts[0] ?? 1;
      const baseDir = path.resolve(opts.baseline, 'bench', 'proxy');
      targets.push({ ...(await sluiceProxy(echoPort, sinkPort, engine, cpus, Math.max(1, n), baseDir)), name: 'base' });
    }
    const samples = targets.map(
      (): Samples => ({ bulk: [], rps: [], p50: [], p99: [], cps: [], cp99: [], cpuRr: [], cpuChurn: [], failed: 0 }),
    );
    const cpu0 = targets.map((t) => cpuSeconds(t.pid));
    for (let r = 0; r < rounds; r++) {
      for (const [i, t] of targets.entries()) runRound(t, samples[i] as Samples, r);
    }
    targets.forEach((t, i) => {
      if (t.pid)
        process.stderr.write(
          `  ${t.name}: ${(cpuSeconds(t.pid) - (cpu0[i] ?? 0)).toFixed(1)} s of proxy CPU over the run\n`,
        );
    });
    const rows = targets.map((t, i) => summarize(t, samples[i] as Samples));
    const pad = (s: string | number, n: number) => String(s).padStart(n);
    console.log(
      `${'target'.padEnd(10)}${pad('bulk Gbit/s', 13)}${pad('rr req/s', 11)}${pad('rr p50 µs', 11)}${pad('rr p99 µs', 11)}${pad('churn conn/s', 14)}${pad('churn p99 µs', 14)}${pad('failed', 8)}${pad('CPU µs/req', 12)}${pad('CPU µs/conn', 13)}`,
    );
    for (const r of rows) {
      console.log(
        `${r.target.padEnd(10)}${pad(r.bulkGbps.toFixed(2), 13)}${pad(Math.round(r.rps), 11)}${pad(Math.round(r.rrP50), 11)}${pad(Math.round(r.rrP99), 11)}${pad(Math.round(r.cps), 14)}${pad(Math.round(r.churnP99), 14)}${pad(r.churnFailed, 8)}${pad(r.target === 'direct' ? '-' : r.cpuPerRequestUs.toFixed(1), 12)}${pad(r.target === 'direct' ? '-' : r.cpuPerConnectionUs.toFixed(0), 13)}`,
      );
    }
    const d = rows.find((r) => r.target === 'direct') as Row;
    const ratio = (a: number, b: number) => Number((b ? a / b : 0).toFixed(3));
    const figures = (r: Row) => ({
      bulk_gbps: r.bulkGbps,
      rps: Math.round(r.rps),
      p50_us: Math.round(r.rrP50),
      p99_us: Math.round(r.rrP99),
      cps: Math.round(r.cps),
      cpu_us_per_request: Number(r.cpuPerRequestUs.toFixed(1)),
      cpu_us_per_connection: Math.round(r.cpuPerConnectionUs),
    });
    const results = relayCounts.map((n) => {
      const h = rows.find((r) => r.target === `haproxy${suffix(n)}`) as Row;
      const s = rows.find((r) => r.target === `sluice${suffix(n)}`) as Row;
      console.log(
        `ratios Sluice/HAProxy (${n + 1} threads each): rr ${ratio(s.rps, h.rps)}×, rr p99 ${ratio(s.rrP99, h.rrP99)}×, churn ${ratio(s.cps, h.cps)}×, bulk ${ratio(s.bulkGbps, h.bulkGbps)}×`,
      );
      return {
        rr50: ratio(s.rps, h.rps),
        rr50_p99: ratio(s.rrP99, h.rrP99),
        churn: ratio(s.cps, h.cps),
        bulk: ratio(s.bulkGbps, h.bulkGbps),
        direct: { bulk_gbps: d.bulkGbps, rps: Math.round(d.rps), cps: Math.round(d.cps) },
        haproxy: figures(h),
        sluice: figures(s),
        engine,
        threads: n + 1,
        relay_threads: n,
        cpus,
        rounds,
      };
    });
    console.log(JSON.stringify(results.length === 1 ? results[0] : results));
  } finally {
    for (const t of targets) await t.stop();
    await stopChild(echo);
    await stopChild(sink);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
