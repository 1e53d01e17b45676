/**
 * Proxy benchmark: direct connection vs HAProxy (mode tcp) vs Sluice's proxy, in the same run,
 * on loopback, driven by a C load generator (bench/proxy/loadgen.c, compiled here with gcc).
 *
 *   npm run bench:proxy [-- --seconds 5 --bulk-mb 2000 --conns 50 --workers 1]
 *
 * Prints a table and, as its last line, one JSON object with the Sluice ÷ HAProxy ratios
 * ({"rr50", "churn", "bulk"} plus p99 and raw figures).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
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
    workers: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
  },
});
const seconds = Number(opts.seconds);
const bulkBytes = Number(opts['bulk-mb']) * 1e6;
const conns = Number(opts.conns);
const churnConc = Number(opts['churn-conc']);
const workers = Number(opts.workers);
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
    const stat =
      execFileSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' })
        .split(') ')[1]
        ?.split(' ') ?? [];
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
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function measure(t: Target): Promise<Row> {
  const bulk: number[] = [];
  const rps: number[] = [];
  const p50: number[] = [];
  const p99: number[] = [];
  const cps: number[] = [];
  const cp99: number[] = [];
  let failed = 0;
  for (let r = 0; r < rounds; r++) {
    const b = runLoad(['bulk', String(t.sinkPort), String(bulkBytes)]);
    if (b.received !== bulkBytes) throw new Error(`${t.name}: bulk received ${b.received} of ${bulkBytes} bytes`);
    bulk.push(b.gbps ?? 0);
    const q = runLoad(['rr', String(t.echoPort), String(conns), String(seconds), '64']);
    rps.push(q.rps ?? 0);
    p50.push(q.p50_us ?? 0);
    p99.push(q.p99_us ?? 0);
    const c = runLoad(['churn', String(t.echoPort), String(churnConc), String(seconds)]);
    cps.push(c.cps ?? 0);
    cp99.push(c.p99_us ?? 0);
    failed += c.failed ?? 0;
    process.stderr.write(
      `  ${t.name} round ${r + 1}/${rounds}: bulk ${b.gbps} Gbit/s, rr ${q.rps} req/s, churn ${c.cps} conn/s\n`,
    );
  }
  return {
    target: t.name,
    bulkGbps: median(bulk),
    rps: median(rps),
    rrP50: median(p50),
    rrP99: median(p99),
    cps: median(cps),
    churnP99: median(cp99),
    churnFailed: failed,
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
      `proxy benchmark: ${rounds} rounds, ${seconds} s per load, bulk ${bulkBytes / 1e6} MB, rr ${conns} conns × 64 B, churn ${churnConc} parallel; proxies get ${workers} worker(s)/thread(s)\n`,
    );
    targets.push(direct(echoPort, sinkPort));
    targets.push(await haproxy(echoPort, sinkPort, workers));
    targets.push(await sluiceProxy(echoPort, sinkPort, workers));
    const rows: Row[] = [];
    for (const t of targets) {
      const cpu0 = cpuSeconds(t.pid);
      const row = await measure(t);
      const cpu = cpuSeconds(t.pid) - cpu0;
      rows.push(row);
      if (t.pid) process.stderr.write(`  ${t.name}: ${cpu.toFixed(1)} s of proxy CPU over the run\n`);
    }
    const pad = (s: string | number, n: number) => String(s).padStart(n);
    console.log(
      `${'target'.padEnd(10)}${pad('bulk Gbit/s', 13)}${pad('rr req/s', 11)}${pad('rr p50 µs', 11)}${pad('rr p99 µs', 11)}${pad('churn conn/s', 14)}${pad('churn p99 µs', 14)}${pad('failed', 8)}`,
    );
    for (const r of rows) {
      console.log(
        `${r.target.padEnd(10)}${pad(r.bulkGbps.toFixed(2), 13)}${pad(Math.round(r.rps), 11)}${pad(Math.round(r.rrP50), 11)}${pad(Math.round(r.rrP99), 11)}${pad(Math.round(r.cps), 14)}${pad(Math.round(r.churnP99), 14)}${pad(r.churnFailed, 8)}`,
      );
    }
    const h = rows.find((r) => r.target === 'haproxy') as Row;
    const s = rows.find((r) => r.target === 'sluice') as Row;
    const d = rows.find((r) => r.target === 'direct') as Row;
    const ratio = (a: number, b: number) => Number((b ? a / b : 0).toFixed(3));
    console.log(
      `ratios Sluice/HAProxy: rr ${ratio(s.rps, h.rps)}×, rr p99 ${ratio(s.rrP99, h.rrP99)}×, churn ${ratio(s.cps, h.cps)}×, bulk ${ratio(s.bulkGbps, h.bulkGbps)}×`,
    );
    console.log(
      JSON.stringify({
        rr50: ratio(s.rps, h.rps),
        rr50_p99: ratio(s.rrP99, h.rrP99),
        churn: ratio(s.cps, h.cps),
        bulk: ratio(s.bulkGbps, h.bulkGbps),
        direct: { bulk_gbps: d.bulkGbps, rps: Math.round(d.rps), cps: Math.round(d.cps) },
        haproxy: { bulk_gbps: h.bulkGbps, rps: Math.round(h.rps), p99_us: Math.round(h.rrP99), cps: Math.round(h.cps) },
        sluice: { bulk_gbps: s.bulkGbps, rps: Math.round(s.rps), p99_us: Math.round(s.rrP99), cps: Math.round(s.cps) },
        workers,
      }),
    );
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
