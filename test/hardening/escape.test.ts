/**
 * Escape attempts from a workload under REGISTRY_ONLY, run as the workload uid (1000) through
 * `sluice run`'s runOnce: TCP to unregistered hosts and ports, to the sidecar's own ports on
 * loopback and on the pod address, UDP to hosts outside the mesh, IPv6, raw and packet sockets,
 * changing iptables, routes and links, becoming the sidecar's uid. Every attempt must fail and the
 * servers outside the mesh must count nothing.
 *
 * What Sluice guarantees a workload on its own loopback: the capture listeners (15001/15006) never
 * forward a connection made to them directly; the metrics port (15090) serves metrics and nothing
 * else; the admin port (15000: config dump, log level) is not reachable by the workload at all.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { after, before, test } from 'node:test';
import { planDeployment, RunOnceError, type RunOnceResult, runOnce } from '@sluice/agent';
import { startTestMesh, type TestMesh } from '../e2e/lib/mesh.js';
import { type CountingServer, startCountingServer } from './lib/mesh-servers.js';
import { recordScenario } from './lib/summary.js';

const SUBNET = '10.233.140.0/24';
const POD_IP = '10.233.140.150';
const EXT_IP = '10.233.140.250';
const OTHER_IP = '10.233.140.251';
const TCP_PORTS = [22, 80, 7100, 7101];
const UDP_PORTS = [7200, 7201];

let m: TestMesh;
let ext: CountingServer;
let other: CountingServer;
let gatewayUdp: dgram.Socket;
let gatewayUdpPort = 0;
const gatewayDatagrams: string[] = [];
let run: RunOnceResult;
let results: Attempt[] = [];

interface Attempt {
  kind: 'tcp' | 'http' | 'udp' | 'cmd';
  target: string;
  /** refused | reset | closed-empty | timeout | error:<code> | data:<text> | sent | exit:<code> */
  outcome: string;
  detail?: string;
  sentBytes: number;
}

// The workload: plain Node, no knowledge of the mesh. Prints one JSON line per attempt.
const ATTEMPTS = (o: {
  tcp: string[];
  http: { target: string; path: string }[];
  udp: string[];
  cmds: string[][];
  finalTcp: string[];
}) => `
const net = require('net');
const dgram = require('dgram');
const { spawnSync } = require('child_process');
const out = (a) => console.log(JSON.stringify(a));
const split = (t) => { const i = t.lastIndexOf(':'); return [t.slice(0, i).replace(/^\\[|\\]$/g, ''), Number(t.slice(i + 1))]; };
function tcp(target, payload, kind = 'tcp') {
  return new Promise((resolve) => {
    const [host, port] = split(target);
    let data = '';
    let err;
    const s = net.connect({ host, port });
    s.setTimeout(2000, () => { err = 'timeout'; s.destroy(); });
    s.on('connect', () => { if (payload) s.write(payload); });
    s.on('data', (d) => (data += d));
    s.on('error', (e) => (err = e.code));
    s.on('close', () => {
      const outcome = data ? 'data:' + data.slice(0, 200) : err === 'ECONNREFUSED' ? 'refused' : err === 'ECONNRESET' ? 'reset'
        : err === 'timeout' ? 'timeout' : err ? 'error:' + err : 'closed-empty';
      out({ kind, target: kind === 'http' ? target + payload.split(' ')[1] : target, outcome, sentBytes: payload ? payload.length : 0 });
      resolve();
    });
  });
}
function udp(target) {
  return new Promise((resolve) => {
    const [host, port] = split(target);
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const msg = Buffer.from('escape ' + target);
    let errors = [];
    let sent = 0;
    s.on('error', (e) => errors.push(e.code));
    let n = 0;
    const next = () => {
      if (n++ === 3) { setTimeout(() => { s.close(); out({ kind: 'udp', target, outcome: sent ? 'sent' : 'error:' + errors[0], detail: errors.join(','), sentBytes: sent }); resolve(); }, 100); return; }
      s.send(msg, port, host, (e) => { if (e) errors.push(e.code); else sent += msg.length; setTimeout(next, 20); });
    };
    next();
  });
}
(async () => {
  for (const t of ${JSON.stringify(o.tcp)}) await tcp(t, 'escape attempt\\n');
  for (const h of ${JSON.stringify(o.http)}) await tcp(h.target, 'GET ' + h.path + ' HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n', 'http');
  for (const t of ${JSON.stringify(o.udp)}) await udp(t);
  for (const argv of ${JSON.stringify(o.cmds)}) {
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 5000 });
    out({ kind: 'cmd', target: argv.join(' '), outcome: r.error ? 'error:' + r.error.code : 'exit:' + r.status, detail: ((r.stderr || '') + (r.stdout || '')).trim().slice(0, 300), sentBytes: 0 });
  }
  for (const t of ${JSON.stringify(o.finalTcp)}) await tcp(t, 'after the privileged attempts\\n');
})();
`;

before(async () => {
  m = await startTestMesh({ name: 'hardesc', subnet: SUBNET });
  ext = await startCountingServer(await m.addTestHost('ext', EXT_IP), { tcp: TCP_PORTS, udp: UDP_PORTS });
  other = await startCountingServer(await m.addTestHost('other', OTHER_IP), { tcp: TCP_PORTS, udp: UDP_PORTS });
  gatewayUdp = dgram.createSocket('udp4');
  gatewayUdp.on('message', (msg) => gatewayDatagrams.push(msg.toString()));
  await new Promise<void>((resolve) => gatewayUdp.bind(0, m.mesh.gateway, resolve));
  gatewayUdpPort = gatewayUdp.address().port;
  await m.apply({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'MeshConfig',
    metadata: { name: 'mesh' },
    spec: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } },
  });
  const sidecarPorts = [15000, 15001, 15006, 15021, 15090];
  run = await m.run(
    'escaper',
    POD_IP,
    [
      'node',
      '-e',
      ATTEMPTS({
        tcp: [
          ...TCP_PORTS.map((p) => `${EXT_IP}:${p}`),
          `${OTHER_IP}:7100`,
          `${m.mesh.gateway}:${m.cp.apiPort}`,
          `${m.mesh.gateway}:${m.cp.xdsPort}`,
          '203.0.113.7:80',
          '240.240.0.1:3306',
          '240.241.0.1:80',
          `${POD_IP}:7100`,
          ...sidecarPorts.map((p) => `${POD_IP}:${p}`),
          '127.0.0.1:15001',
          '127.0.0.1:15006',
          '[::1]:15001',
          '[::1]:15006',
          '[2001:db8::1]:80',
          `[::ffff:${EXT_IP}]:7100`,
        ],
        http: [
          { target: '127.0.0.1:15000', path: '/config_dump' },
          { target: '127.0.0.1:15000', path: '/logging?level=silent' },
          { target: '127.0.0.1:15000', path: '/clusters' },
          { target: '[::1]:15000', path: '/config_dump' },
          { target: '127.0.0.1:15090', path: '/config_dump' },
          { target: '127.0.0.1:15090', path: '/logging?level=silent' },
          { target: '127.0.0.1:15001', path: `http://${EXT_IP}:7100/` },
        ],
        udp: [
          ...UDP_PORTS.map((p) => `${EXT_IP}:${p}`),
          `${OTHER_IP}:7200`,
          `${m.mesh.gateway}:${gatewayUdpPort}`,
          '203.0.113.7:7200',
          '[2001:db8::1]:7200',
        ],
        cmds: [
          [
            'perl',
            '-e',
            'use Socket; socket(my $s, PF_INET, SOCK_RAW, 1) or die "raw: $!\\n"; print "raw socket open\\n"',
          ],
          [
            'perl',
            '-e',
            'use Socket; socket(my $s, 17, SOCK_RAW, 0) or die "packet: $!\\n"; print "packet socket open\\n"',
          ],
          ['iptables', '-t', 'nat', '-F'],
          ['iptables', '-t', 'nat', '-I', 'OUTPUT', '1', '-j', 'ACCEPT'],
          ['iptables', '-t', 'filter', '-F'],
          ['ip6tables', '-t', 'nat', '-F'],
          ['sh', '-c', "printf '*nat\\n:OUTPUT ACCEPT [0:0]\\nCOMMIT\\n' | iptables-restore"],
          ['ip', 'route', 'replace', 'default', 'dev', 'eth0'],
          ['ip', 'link', 'set', 'sink0', 'down'],
          ['ip', 'addr', 'add', '10.233.140.99/24', 'dev', 'eth0'],
          ['sysctl', '-w', 'net.ipv4.conf.all.route_localnet=1'],
          ['setpriv', '--reuid=1337', '--regid=1337', '--clear-groups', '--', 'id', '-u'],
          ['setpriv', '--reuid=0', '--regid=0', '--', 'id', '-u'],
        ],
        finalTcp: [`${EXT_IP}:7100`, `${OTHER_IP}:80`],
      }),
    ],
    {},
  );
  results = run.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Attempt);
  // late datagrams and connections have time to show up at the servers
  await new Promise((r) => setTimeout(r, 300));
});

after(async () => {
  gatewayUdp?.close();
  await ext?.stop();
  await other?.stop();
  await m?.close();
});

const of = (kind: Attempt['kind']) => results.filter((r) => r.kind === kind);
const fmt = (list: Attempt[]) => list.map((r) => `${r.target} -> ${r.outcome}${r.detail ? ` (${r.detail})` : ''}`);

test('the escape run completed every attempt', () => {
  assert.equal(run.exitCode, 0, run.stderr);
  assert.equal(results.length, 22 + 7 + 6 + 13 + 2, `attempts reported:\n${run.stdout}`);
});

test('TCP to unregistered hosts, ports, VIPs, the control plane and the pod address gets nothing', () => {
  const tcp = of('tcp');
  const got = tcp.filter((r) => r.outcome.startsWith('data:'));
  assert.deepEqual(fmt(got), [], 'no TCP attempt received a byte');
  const v6 = tcp.find((r) => r.target === '[2001:db8::1]:80');
  assert.equal(v6?.outcome, 'error:ENETUNREACH', 'IPv6 beyond loopback has no route');
  // Everything else is black-holed by the sidecar (closed at once) or refused.
  for (const r of tcp.filter((x) => x !== v6)) assert.match(r.outcome, /^(closed-empty|reset|refused)$/, r.target);
  assert.equal(ext.accepts.length + other.accepts.length, 0, 'no server outside the mesh accepted a connection');
});

test("a direct connection to the sidecar's capture ports never gets forwarded", () => {
  const direct = results.filter((r) => /^(127\.0\.0\.1|\[::1\]):150(01|06)/.test(r.target));
  assert.equal(direct.length, 5);
  assert.deepEqual(
    fmt(direct.filter((r) => r.outcome.startsWith('data:'))),
    [],
    'nothing answered a direct connection to 15001/15006',
  );
  // The sidecar black-holed them (one access-log line each), it did not forward anything.
  const lines = run.sidecarLog.split('\n').filter((l) => l.startsWith('{') && l.includes('"decision"'));
  const forwarded = lines.filter((l) => !l.includes('"decision":"blackhole"'));
  assert.deepEqual(forwarded, [], 'the sidecar forwarded no connection of this workload');
});

test("the sidecar's metrics port serves no admin function to the workload", () => {
  const stats = of('http').filter((r) => r.target.startsWith('127.0.0.1:15090'));
  assert.equal(stats.length, 2);
  for (const r of stats) assert.match(r.outcome, /^data:HTTP\/1\.1 404 /, `${r.target} must be refused`);
});

test("the sidecar's admin port (config dump, log level) is not reachable by the workload", () => {
  const admin = of('http').filter((r) => /:15000\//.test(r.target));
  assert.equal(admin.length, 4);
  assert.deepEqual(
    fmt(admin.filter((r) => r.outcome.startsWith('data:'))).map((s) => s.slice(0, 120)),
    [],
    'the workload (uid 1000) got answers from the admin endpoint',
  );
});

test('UDP to hosts outside the mesh never reaches a listener', () => {
  const udp = of('udp');
  assert.equal(udp.length, 6);
  const v6 = udp.find((r) => r.target.startsWith('[2001:db8::1]'));
  assert.match(v6?.outcome ?? '', /^error:ENETUNREACH/, 'IPv6 UDP has no route');
  const received = [
    ...ext.datagrams.map((d) => `${EXT_IP}:${d.port} from ${d.from}`),
    ...other.datagrams.map((d) => `${OTHER_IP}:${d.port} from ${d.from}`),
    ...gatewayDatagrams.map((d) => `${m.mesh.gateway}:${gatewayUdpPort} "${d}"`),
  ];
  assert.deepEqual(received, [], 'datagrams that reached a listener outside the mesh');
});

test('raw sockets, packet sockets, iptables, routes, links, sysctls and uid changes are all refused', () => {
  const cmds = of('cmd');
  assert.equal(cmds.length, 13);
  const succeeded = cmds.filter((r) => r.outcome === 'exit:0');
  assert.deepEqual(fmt(succeeded), [], 'privileged operations that succeeded');
  const byName = (prefix: string) => cmds.find((r) => r.target.startsWith(prefix));
  assert.match(byName('perl -e use Socket; socket(my $s, PF_INET')?.detail ?? '', /raw: Operation not permitted/);
  assert.match(byName('perl -e use Socket; socket(my $s, 17')?.detail ?? '', /packet: Operation not permitted/);
  assert.match(byName('iptables -t nat -F')?.detail ?? '', /Permission denied|must be root/);
  assert.match(byName('setpriv --reuid=1337')?.detail ?? '', /Operation not permitted/);
  // After all that, capture still holds: the last attempts are black-holed like the first.
  const finals = results.slice(-2);
  for (const r of finals) assert.match(r.outcome, /^(closed-empty|reset)$/, `${r.target} after the attempts`);
});

test('a workload may not run as the sidecar uid or as root: runOnce and the agent refuse it', async () => {
  const before = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const uid of [1337, 0]) {
    await assert.rejects(
      runOnce({
        mesh: m.mesh,
        xds: `${m.mesh.gateway}:${m.cp.xdsPort}`,
        name: `asuid${uid}`,
        ip: '10.233.140.151',
        argv: ['id', '-u'],
        uid,
      }),
      (e: unknown) => e instanceof RunOnceError && e.code === 'ProxyUidRefused' && e.message.includes(`uid ${uid}`),
    );
  }
  assert.equal(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }), before, 'no namespace was made');
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'sneaky', namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'sneaky' } },
      template: {
        metadata: { labels: { app: 'sneaky' } },
        spec: {
          containers: [{ name: 'app', image: 'local/x', command: ['id'], securityContext: { runAsUser: 1337 } }],
        },
      },
    },
  };
  assert.throws(
    () => planDeployment(deployment as Parameters<typeof planDeployment>[0], {}, []),
    (e: Error & { code?: string }) =>
      e.code === 'ProxyUidRefused' &&
      /containers\[0\]\.securityContext\.runAsUser: uid 1337 is refused/.test(e.message),
  );
});

test('escape summary row', () => {
  const tcpLeaks =
    results.filter(
      (r) =>
        (r.kind === 'tcp' || r.kind === 'http') &&
        r.outcome.startsWith('data:') &&
        !r.target.startsWith('127.0.0.1:15090'),
    ).length +
    ext.accepts.length +
    other.accepts.length;
  const udpLeaks = ext.datagrams.length + other.datagrams.length + gatewayDatagrams.length;
  const cmdLeaks = of('cmd').filter((r) => r.outcome === 'exit:0').length;
  recordScenario({
    scenario: 'escape attempts (REGISTRY_ONLY, uid 1000)',
    load: `${of('tcp').length} TCP, ${of('http').length} HTTP to sidecar ports, ${of('udp').length}x3 UDP, ${of('cmd').length} privileged commands, uid 1337/0`,
    faults: 'unregistered hosts/ports/VIPs, sidecar ports on lo and pod IP, UDP, IPv6, raw sockets, iptables, setpriv',
    requests: results.length + 3,
    bytes: results.reduce((n, r) => n + r.sentBytes, 0),
    leaks: tcpLeaks + udpLeaks + cmdLeaks,
    losses: 0,
  });
  assert.ok(results.length > 0);
});
