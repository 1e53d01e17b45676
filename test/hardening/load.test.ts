/**
 * Load through one sidecar (REGISTRY_ONLY, a ServiceEntry admitting the load server's ports):
 *  1. many concurrent connections held open at once, each echoing a unique payload;
 *  2. many short connections in churn (the server closes first), each echoing its id;
 *  3. a bulk upload whose SHA-256 the server computes and the client compares.
 * No connection may be lost or corrupted. Afterwards the sidecar's open file descriptors must be
 * back within FD_TOLERANCE of the baseline and its RSS within RSS_TOLERANCE of it.
 *
 * Sizes: 10,000 concurrent (capped by the open-files hard limit: the sidecar holds two descriptors
 * per relayed connection, and raising the hard limit needs CAP_SYS_RESOURCE; the summary row states
 * the size that ran), 200,000 churned, 10 GiB bulk.
 * `SLUICE_HARDENING_QUICK=1` runs small sizes (2,000 / 20,000 / 1 GiB) for a fast check.
 *
 * Every failed churn connection is counted by phase (connect, write, read, close) and error
 * (ECONNREFUSED, ECONNRESET, EADDRNOTAVAIL, timeout, short read, wrong bytes, ...), and the row's
 * notes give that breakdown with the kernel's TCP and conntrack counters of the workload's and the
 * server's namespaces (listen overflows, TIME_WAIT overflows, resets, conntrack drops) over the phase.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { TestHost } from '@sluice/capture';
import { startTestMesh, type TestMesh } from '../e2e/lib/mesh.js';
import { type SidecarHost, startSidecarHost } from './lib/mesh-sidecar.js';
import { counterDeltas, readNetCounters } from './lib/net-counters.js';
import { recordScenario } from './lib/summary.js';

const QUICK = process.env.SLUICE_HARDENING_QUICK === '1';
/**
 * The sidecar holds two descriptors per relayed connection. Raising the hard limit needs
 * CAP_SYS_RESOURCE, which some machines lack: the processes get the hard limit this process has.
 */
const NOFILE = Number(/^Max open files\s+\d+\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 1024);
const CONCURRENT = QUICK ? 2_000 : Math.min(10_000, Math.floor((NOFILE - 1024) / 2));
const CHURN = QUICK ? 20_000 : 200_000;
const CHURN_PARALLEL = 64;
const BULK_BYTES = (QUICK ? 1 : 10) * 1024 ** 3;
/** Every phase stops after this long, finished or not (and then fails). */
const PHASE_LIMIT_MS = QUICK ? 150_000 : 300_000;
/** Open fds may exceed the baseline by this many once load is over (timers, pooled sockets, log files). */
const FD_TOLERANCE = 16;
/** RSS may exceed the baseline by this much once load is over (V8 keeps some of the heap it grew). */
const RSS_TOLERANCE = 128 * 1024 * 1024;
const SUBNET = '10.233.143.0/24';
const POD_IP = '10.233.143.150';
const SINK_IP = '10.233.143.250';
const [ECHO, CHURN_PORT, BULK] = [7500, 7501, 7502];

// The load server (in a test host): echo; 8-byte id echoed then closed by the server; SHA-256 of an upload.
const SERVER = `
const net = require('net');
const crypto = require('crypto');
const listen = (port, handler) => new Promise((r) => net.createServer(handler).listen({ port, host: '${SINK_IP}', backlog: 8192 }, r));
Promise.all([
  listen(${ECHO}, (s) => { s.on('error', () => {}); s.on('data', (d) => s.write(d)); s.on('end', () => s.end()); }),
  listen(${CHURN_PORT}, (s) => {
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    s.on('data', (d) => { buf = Buffer.concat([buf, d]); if (buf.length >= 8) s.end(buf.subarray(0, 8)); });
  }),
  listen(${BULK}, (s) => {
    s.on('error', () => {});
    const h = crypto.createHash('sha256');
    let n = 0;
    s.on('data', (d) => { h.update(d); n += d.length; });
    s.on('end', () => s.end(h.digest('hex') + ' ' + n + '\\n'));
  }),
]).then(() => console.log('listening'));
`;

// The load generator (in the workload's namespace, uid 1000). Prints one JSON result line.
const GENERATOR = `
const net = require('net');
const crypto = require('crypto');
const [mode, a, b] = process.argv.slice(1);
const deadline = Date.now() + ${PHASE_LIMIT_MS};
const out = (o) => console.log(JSON.stringify(o));
function connect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '${SINK_IP}');
    const t = setTimeout(() => { s.destroy(); reject(new Error('connect timeout')); }, 30000);
    s.once('connect', () => { clearTimeout(t); resolve(s); });
    s.once('error', (e) => { clearTimeout(t); reject(e); });
  });
}
function roundTrip(s, payload) {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve(false);
    let got = Buffer.alloc(0);
    const t = setTimeout(() => done(false), 30000);
    const done = (ok) => { clearTimeout(t); s.removeAllListeners('data'); resolve(ok); };
    s.on('data', (d) => { got = Buffer.concat([got, d]); if (got.length >= payload.length) done(got.equals(payload)); });
    s.once('close', () => done(false));
    s.write(payload);
  });
}
async function concurrent(n) {
  const socks = [];
  let refused = 0;
  for (let i = 0; i < n && Date.now() < deadline; i += 250) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(250, n - i) }, () => connect(${ECHO})));
    for (const r of batch) r.status === 'fulfilled' ? socks.push(r.value) : refused++;
  }
  for (const s of socks) s.on('error', () => {});
  const oks = await Promise.all(socks.map((s, i) => roundTrip(s, Buffer.from('conn-' + i + '-' + crypto.randomBytes(16).toString('hex')))));
  out({ phase: 'open', open: socks.length });
  await new Promise((r) => process.stdin.once('data', r));
  // Half-close from the client; the echo server ends its side when it sees the end.
  const closed = await Promise.all(socks.map((s) => new Promise((r) => {
    if (s.destroyed) return r(true);
    const t = setTimeout(() => r(false), 30000);
    s.once('close', () => { clearTimeout(t); r(true); });
    s.end();
  })));
  const unclosed = closed.filter((c) => !c).length;
  out({ phase: 'done', attempted: n, ok: oks.filter(Boolean).length, corrupt: oks.filter((x) => !x).length, refused, unclosed });
}
// One short connection: connect, send the 8-byte id, read it back, then see the server's EOF.
// Resolves null when all of that happened, else { phase, code } saying where it went wrong.
// The client closes only after the server's EOF, as a client of a server-closes-first protocol
// does: closing right after the echo made the client the active closer in a share of connections,
// whose TIME_WAIT (60 s) held ephemeral ports of the workload's namespace, the pool the sidecar's
// upstream connections to the same address draw from as well.
function churnOne(id) {
  return new Promise((resolve) => {
    const s = net.connect(${CHURN_PORT}, '${SINK_IP}');
    let phase = 'connect';
    let got = Buffer.alloc(0);
    let done = false;
    const finish = (code) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      const port = s.localPort;
      s.destroy();
      resolve(code === null ? null : { phase, code, port });
    };
    // A connect is left to the kernel's own SYN retries (tcp_syn_retries: about 127 s), as any
    // client's is: under REDIRECT at thousands of connections per second, a SYN can meet the
    // sidecar's TIME_WAIT socket of an earlier connection with the same translated addresses,
    // and waits for it (at most its 60 s) instead of failing. The slow ones are counted below.
    let t = setTimeout(() => finish('timeout'), 150000);
    const begun = Date.now();
    s.once('connect', () => {
      const ms = Date.now() - begun;
      if (ms >= 1000) slowConnects.push(ms);
      clearTimeout(t);
      t = setTimeout(() => finish('timeout'), 30000);
      phase = 'write';
      s.write(id, (e) => { if (!e && phase === 'write') phase = 'read'; });
    });
    s.on('data', (d) => {
      if (phase === 'write') phase = 'read';
      got = Buffer.concat([got, d]);
      if (got.length > id.length || (got.length === id.length && !got.equals(id))) finish('wrong bytes');
      else if (got.length === id.length) phase = 'close';
    });
    s.once('end', () => finish(got.length < id.length ? 'short read' : null));
    s.once('error', (e) => finish(e.code || e.message));
    s.once('close', () => finish(phase === 'close' ? 'closed without EOF' : 'closed early'));
  });
}
const slowConnects = [];
async function churn(n, parallel) {
  const started = Date.now();
  let next = 0, ok = 0;
  const failures = {};
  const samples = [];
  async function worker() {
    while (next < n && Date.now() < deadline) {
      const i = next++;
      const id = Buffer.alloc(8);
      id.writeUInt32BE(i, 0);
      id.writeUInt32BE((Math.random() * 2 ** 32) >>> 0, 4);
      const f = await churnOne(id);
      if (f === null) { ok++; continue; }
      const key = f.phase + ' ' + f.code;
      failures[key] = (failures[key] ?? 0) + 1;
      if (samples.length < 20) samples.push({ i, ...f, ms: Date.now() - started });
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker));
  const slowest = slowConnects.reduce((a, b) => Math.max(a, b), 0);
  out({ phase: 'done', attempted: next, ok, failed: next - ok, failures, samples, slowConnects: slowConnects.length, slowestConnectMs: slowest });
}
async function bulk(total) {
  const s = await connect(${BULK});
  const h = crypto.createHash('sha256');
  const chunk = crypto.randomBytes(1 << 20);
  let sent = 0, i = 0;
  let reply = '';
  s.on('data', (d) => (reply += d));
  const closed = new Promise((r) => s.once('close', r));
  while (sent < total && Date.now() < deadline) {
    chunk.writeUInt32BE(i++, 0);
    const part = chunk.subarray(0, Math.min(chunk.length, total - sent));
    h.update(part);
    sent += part.length;
    if (!s.write(Buffer.from(part))) await new Promise((r) => s.once('drain', r));
  }
  s.end();
  await closed;
  const [digest, count] = reply.trim().split(' ');
  out({ phase: 'done', sent, received: Number(count), match: digest === h.digest('hex') });
}
({ concurrent: () => concurrent(Number(a)), churn: () => churn(Number(a), Number(b)), bulk: () => bulk(Number(a)) })[mode]()
  .then(() => process.exit(0), (e) => { out({ phase: 'error', error: String(e) }); process.exit(1); });
`;

let m: TestMesh;
let sink: TestHost;
let server: ChildProcess;
let sidecar: SidecarHost;
let baseline = { fds: 0, rss: 0 };

/** Runs the generator; `onLine` sees each JSON line as it comes. Resolves with the last one. */
function generate(
  args: string[],
  onLine: (o: Record<string, unknown>, child: ChildProcess) => void = () => {},
): Promise<Record<string, unknown>> {
  const child = sidecar.host.exec(['node', '-e', GENERATOR, ...args], { uid: 1000, stdio: 'pipe' });
  let last: Record<string, unknown> = {};
  let buf = '';
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-4000);
  });
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines.filter((x) => x.startsWith('{'))) {
      last = JSON.parse(l);
      onLine(last, child);
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), PHASE_LIMIT_MS + 30_000);
  return new Promise((resolve, reject) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(last);
      else reject(new Error(`generator ${args.join(' ')} exited ${code}: ${JSON.stringify(last)}\n${err}`));
    }),
  );
}

/** Waits (bounded) until the sidecar's fds settle back within tolerance; returns what it measured. */
async function settled(): Promise<{ fds: number; rss: number }> {
  const until = Date.now() + 15_000;
  let fds = sidecar.fdCount();
  while (fds > baseline.fds + FD_TOLERANCE && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 250));
    fds = sidecar.fdCount();
  }
  return { fds, rss: sidecar.rss() };
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;

before(async () => {
  assert.ok(
    NOFILE >= 2 * CONCURRENT + 1024,
    `the open-files hard limit (${NOFILE}) cannot hold ${CONCURRENT} relayed connections in one sidecar; raise it (ulimit -Hn) to at least ${2 * CONCURRENT + 1024}`,
  );
  m = await startTestMesh({ name: 'hardload', subnet: SUBNET });
  sink = await m.addTestHost('sink', SINK_IP);
  server = sink.exec(['prlimit', `--nofile=${NOFILE}:${NOFILE}`, '--', 'node', '-e', SERVER], {
    uid: 0,
    stdio: 'pipe',
  });
  await new Promise<void>((resolve, reject) => {
    server.stdout?.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    let err = '';
    server.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    server.once('exit', (code) => reject(new Error(`load server exited ${code}: ${err}`)));
  });
  await m.apply({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'MeshConfig',
    metadata: { name: 'mesh' },
    spec: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } },
  });
  await m.apply({
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'ServiceEntry',
    metadata: { name: 'load-sink', namespace: 'default' },
    spec: {
      hosts: ['sink.example'],
      addresses: [`${SINK_IP}/32`],
      ports: [ECHO, CHURN_PORT, BULK].map((p) => ({ name: `tcp-${p}`, number: p, protocol: 'TCP' })),
      location: 'MESH_EXTERNAL',
      resolution: 'NONE',
    },
  });
  sidecar = await startSidecarHost({
    mesh: m.mesh,
    xds: `${m.mesh.gateway}:${m.cp.xdsPort}`,
    name: 'loader',
    ip: POD_IP,
    nofile: NOFILE,
  });
  // Warm up (lazy modules, first pools), then take the baseline.
  const warm = await generate(['churn', '200', '10']);
  assert.equal(warm.ok, 200, `warm-up: ${JSON.stringify(warm)}\n${sidecar.tail()}`);
  await new Promise((r) => setTimeout(r, 1000));
  baseline = { fds: sidecar.fdCount(), rss: sidecar.rss() };
});

after(async () => {
  server?.kill('SIGKILL');
  await sidecar?.destroy();
  await m?.close();
});

test(`${CONCURRENT} concurrent connections through one sidecar: every one echoes its payload`, async () => {
  let peakFds = 0;
  const r = await generate(['concurrent', String(CONCURRENT)], (o, child) => {
    if (o.phase === 'open') {
      peakFds = sidecar.fdCount();
      child.stdin?.write('close\n');
    }
  });
  const after = await settled();
  const row = {
    scenario: 'load: concurrent connections',
    load: `${CONCURRENT} connections held open at once (sidecar fds ${baseline.fds} -> ${peakFds} -> ${after.fds})`,
    faults: 'none (capacity)',
    requests: Number(r.attempted),
    bytes: 0,
    leaks: Math.max(0, after.fds - baseline.fds - FD_TOLERANCE),
    losses: Number(r.attempted) - Number(r.ok) + Number(r.unclosed ?? 0),
  };
  recordScenario(row);
  assert.deepEqual(
    r,
    { phase: 'done', attempted: CONCURRENT, ok: CONCURRENT, corrupt: 0, refused: 0, unclosed: 0 },
    `sidecar response flags: ${JSON.stringify(sidecar.responseFlags())}`,
  );
  assert.ok(peakFds >= baseline.fds + CONCURRENT, `the sidecar held them all at once (${peakFds} fds)`);
  assert.ok(after.fds <= baseline.fds + FD_TOLERANCE, `fds back near baseline: ${baseline.fds} -> ${after.fds}`);
});

test(`${CHURN} short connections in churn: none lost, none corrupted`, async () => {
  const netns = { workload: sidecar.host.netns, sink: sink.netns };
  const before = Object.fromEntries(Object.entries(netns).map(([k, ns]) => [k, readNetCounters(ns)]));
  const flagsBefore = sidecar.responseFlags();
  const started = Date.now();
  const r = await generate(['churn', String(CHURN), String(CHURN_PARALLEL)]);
  const seconds = (Date.now() - started) / 1000;
  const after = await settled();
  const kernel = Object.fromEntries(
    Object.entries(netns).map(([k, ns]) => [k, counterDeltas(before[k]!, readNetCounters(ns))]),
  );
  const flags = Object.fromEntries(
    Object.entries(sidecar.responseFlags())
      .map(([f, n]) => [f, n - (flagsBefore[f] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
  const failures = (r.failures ?? {}) as Record<string, number>;
  const breakdown = Object.entries(failures)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
  recordScenario({
    scenario: 'load: connection churn',
    load: `${CHURN} connections, ${CHURN_PARALLEL} in parallel, ${(CHURN / seconds).toFixed(0)}/s`,
    faults: 'none (server closes first)',
    requests: Number(r.attempted),
    bytes: Number(r.ok) * 16,
    leaks: Math.max(0, after.fds - baseline.fds - FD_TOLERANCE),
    losses: Number(r.attempted) - Number(r.ok),
    notes: [
      `failed by phase and error: ${breakdown || 'none'}`,
      `connects that took 1 s or more (SYN retransmitted): ${r.slowConnects ?? 0}, slowest ${r.slowestConnectMs ?? 0} ms`,
      `kernel counters (workload netns): ${JSON.stringify(kernel.workload)}`,
      `kernel counters (server netns): ${JSON.stringify(kernel.sink)}`,
      `sidecar response flags: ${JSON.stringify(flags)}`,
    ],
  });
  const detail = JSON.stringify({ ...r, kernel, flags }, null, 1);
  assert.equal(r.attempted, CHURN, detail);
  assert.equal(r.ok, CHURN, detail);
  assert.deepEqual(failures, {}, detail);
  assert.ok(after.fds <= baseline.fds + FD_TOLERANCE, `fds back near baseline: ${baseline.fds} -> ${after.fds}`);
});

test(`a ${mib(BULK_BYTES)} upload arrives whole: the server's SHA-256 matches the client's`, async () => {
  const started = Date.now();
  const r = await generate(['bulk', String(BULK_BYTES)]);
  const seconds = (Date.now() - started) / 1000;
  const after = await settled();
  recordScenario({
    scenario: 'load: bulk transfer with checksum',
    load: `${mib(BULK_BYTES)} in one connection, ${mib(BULK_BYTES / seconds)}/s; sidecar RSS ${mib(baseline.rss)} -> ${mib(after.rss)}`,
    faults: 'none (integrity)',
    requests: 1,
    bytes: Number(r.received) || 0,
    leaks: Math.max(0, after.fds - baseline.fds - FD_TOLERANCE),
    losses: r.match === true && r.received === BULK_BYTES ? 0 : 1,
  });
  assert.deepEqual(r, { phase: 'done', sent: BULK_BYTES, received: BULK_BYTES, match: true });
  assert.ok(after.fds <= baseline.fds + FD_TOLERANCE, `fds back near baseline: ${baseline.fds} -> ${after.fds}`);
  assert.ok(
    after.rss <= baseline.rss + RSS_TOLERANCE,
    `sidecar RSS back near baseline: ${mib(baseline.rss)} -> ${mib(after.rss)} (tolerance ${mib(RSS_TOLERANCE)})`,
  );
});
