import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanup } from './cleanup.js';
import { createMeshNetwork, destroyMeshNetwork, type MeshNetwork } from './mesh-network.js';
import {
  hostRuleset,
  type RunningProgram,
  runProgram,
  startProgram,
  tcpClientScript,
  tcpServerScript,
} from './netns-test-kit.js';
import { createTestHost, type TestHost } from './test-host.js';
import { createWorkloadHost, type WorkloadHost } from './workload-host.js';

// Real namespaces, veths, a bridge and iptables: needs root.
const prefixes = { netnsPrefix: 'slt-cap-a-', bridgePrefix: 'sltcapa', vethPrefix: 'sltca' };
const WORKLOAD_UID = 1000;
const PROXY_UID = 1337;
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

function json(line: string): Record<string, unknown> {
  return JSON.parse(line) as Record<string, unknown>;
}

describe('capture in a workload namespace (root, real netns and iptables)', () => {
  let rulesBefore: string[] = [];
  let mesh: MeshNetwork;
  let app: WorkloadHost;
  let peer: WorkloadHost;
  let external: TestHost;
  const programs: RunningProgram[] = [];
  let outboundListener: RunningProgram;
  let inboundListener: RunningProgram;
  let externalServer: RunningProgram;
  let appServer: RunningProgram;

  const start = (...args: Parameters<typeof startProgram>) => {
    const p = startProgram(...args);
    programs.push(p);
    return p;
  };

  before(async () => {
    rulesBefore = hostRuleset();
    mesh = await createMeshNetwork({ name: 'capa', subnet: '10.233.100.0/24', bridge: 'sltcapa0', ...prefixes });
    app = await createWorkloadHost({ mesh, name: 'app', ip: '10.233.100.10', inboundPorts: [9080] });
    peer = await createWorkloadHost({ mesh, name: 'peer', ip: '10.233.100.11', inboundPorts: [9080] });
    external = await createTestHost({ mesh, name: 'ext', ip: '10.233.100.200' });
    // stand-ins for the sidecar's listeners, as the sidecar's uid
    outboundListener = start(app, tcpServerScript('0.0.0.0', 15001, 'captured-outbound'), PROXY_UID);
    inboundListener = start(app, tcpServerScript('0.0.0.0', 15006, 'captured-inbound'), PROXY_UID);
    appServer = start(app, tcpServerScript('0.0.0.0', 9080, 'workload-itself'), WORKLOAD_UID);
    externalServer = start(external, tcpServerScript(external.ip, 7000, 'external-server'), WORKLOAD_UID);
    for (const p of [outboundListener, inboundListener, appServer, externalServer])
      await p.waitForLine((l) => l === 'listening');
  });

  after(async () => {
    for (const p of programs) p.kill();
    await Promise.allSettled([app?.destroy(), peer?.destroy(), external?.destroy()]);
    if (mesh) await destroyMeshNetwork(mesh);
    await cleanup({ netnsPrefix: prefixes.netnsPrefix, bridgePrefix: 'sltcapa0', vethPrefix: prefixes.vethPrefix });
  });

  test('the namespace has lo, eth0 with its address, the connected route and the sink0 default route, no IPv6 beyond ::1', () => {
    const routes = execFileSync('ip', ['-n', app.netns, 'route', 'show'], { encoding: 'utf8' });
    assert.match(routes, /^default dev sink0/m);
    assert.match(routes, /^10\.233\.100\.0\/24 dev eth0 proto kernel scope link src 10\.233\.100\.10/m);
    const v6 = execFileSync('ip', ['-n', app.netns, '-6', 'addr', 'show'], { encoding: 'utf8' });
    assert.deepEqual(v6.match(/inet6 \S+/g), ['inet6 ::1/128']);
    const saved = execFileSync('ip', ['netns', 'exec', app.netns, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' });
    for (const rule of app.rules.ipv4.split('\n').filter((l) => l.startsWith('-A') && !l.includes('SLUICE_SINK'))) {
      if (app.rules.ipv4.indexOf(rule) < app.rules.ipv4.indexOf('*filter')) assert.ok(saved.includes(rule), rule);
    }
  });

  test('(a) a workload connection to the test host is redirected to 15001; the test host sees nothing', async () => {
    const r = await runProgram(app, tcpClientScript(external.ip, 7000), WORKLOAD_UID);
    assert.deepEqual(json(r.output), { data: 'captured-outbound' });
    const got = json(await outboundListener.waitForLine((l) => l.startsWith('{')));
    assert.equal(got.remote, '10.233.100.10');
    assert.deepEqual(
      externalServer.lines.filter((l) => l.startsWith('{')),
      [],
    );
  });

  test('(b) the sidecar uid 1337 bypasses capture and reaches the test host over the bridge', async () => {
    const r = await runProgram(app, tcpClientScript(external.ip, 7000), PROXY_UID);
    assert.deepEqual(json(r.output), { data: 'external-server' });
    const got = json(await externalServer.waitForLine((l) => l.startsWith('{')));
    assert.equal(got.remote, app.ip);
    assert.equal(externalServer.lines.filter((l) => l.startsWith('{')).length, 1);
  });

  test('(c) DNS on port 53, UDP and TCP, goes to the answerer on 15053 through resolv.conf', async () => {
    const scriptPath = path.join(repoRoot, 'packages/capture/src/dns/answerer-main.test-fixture.ts');
    const answerer = start(app, [process.execPath, '--import', 'tsx', scriptPath], PROXY_UID, repoRoot);
    await answerer.waitForLine((l) => l === 'listening', 15000);
    const udp = await runProgram(app, ['dig', '+short', '+tries=1', '+time=2', 'mysql.example.com', 'A'], WORKLOAD_UID);
    assert.equal(udp.output.trim(), '240.240.0.1');
    const tcp = await runProgram(
      app,
      ['dig', '+tcp', '+short', '+tries=1', '+time=2', 'mysql.example.com', 'A'],
      WORKLOAD_UID,
    );
    assert.equal(tcp.output.trim(), '240.240.0.1');
    // glibc with the search list and ndots:5 that the workload's resolv.conf sets
    const glibc = await runProgram(app, ['getent', 'ahostsv4', 'reviews'], WORKLOAD_UID);
    assert.match(glibc.output, /^240\.241\.0\.5\s/m);
    const unknown = await runProgram(app, ['getent', 'hosts', 'www.example.org'], WORKLOAD_UID);
    assert.equal(unknown.code, 2, 'an unknown name does not resolve');
  });

  test('(d) inbound TCP to a declared port lands on 15006; other ports reach the workload directly', async () => {
    const r = await runProgram(external, tcpClientScript(app.ip, 9080), WORKLOAD_UID);
    assert.deepEqual(json(r.output), { data: 'captured-inbound' });
    const got = json(await inboundListener.waitForLine((l) => l.startsWith('{')));
    assert.equal(got.remote, external.ip);
    assert.deepEqual(
      appServer.lines.filter((l) => l.startsWith('{')),
      [],
    );
    // the sidecar reaching the workload on its own loopback is not captured
    const local = await runProgram(app, tcpClientScript('127.0.0.1', 9080), PROXY_UID);
    assert.deepEqual(json(local.output), { data: 'workload-itself' });
  });

  test('(e) a connection to an unrouted address is captured; uncaptured, it is refused at once and nothing is sent', async () => {
    const captured = await runProgram(app, tcpClientScript('203.0.113.7', 80), WORKLOAD_UID);
    assert.deepEqual(json(captured.output), { data: 'captured-outbound' });
    const direct = await runProgram(app, tcpClientScript('203.0.113.7', 80), PROXY_UID);
    assert.deepEqual(json(direct.output), { error: 'ECONNREFUSED' });
    const udp = await runProgram(app, ['dig', '@203.0.113.7', '-p', '5353', '+tries=1', '+time=1', 'x'], WORKLOAD_UID);
    assert.notEqual(udp.code, 0);
    const stats = JSON.parse(
      execFileSync('ip', ['-n', app.netns, '-j', '-s', 'link', 'show', 'sink0'], { encoding: 'utf8' }),
    );
    assert.equal(stats[0].stats64.tx.packets, 0, 'not a packet was even handed to the discard device');
    const v6 = await runProgram(app, tcpClientScript('2001:db8::7', 80), WORKLOAD_UID);
    assert.deepEqual(json(v6.output), { error: 'ENETUNREACH' });
  });

  test('(f) the workload uid can neither change the rules, nor its interfaces, nor open a raw socket', async () => {
    const list = await runProgram(app, ['iptables', '-t', 'nat', '-F'], WORKLOAD_UID);
    assert.notEqual(list.code, 0);
    assert.match(list.output, /Permission denied|you must be root/);
    const link = await runProgram(app, ['ip', 'link', 'set', 'sink0', 'down'], WORKLOAD_UID);
    assert.match(link.output, /Operation not permitted/);
    const raw = await runProgram(
      app,
      ['/usr/bin/python3', '-c', 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)'],
      WORKLOAD_UID,
    );
    assert.match(raw.output, /PermissionError: \[Errno 1\] Operation not permitted/);
    const id = await runProgram(app, ['id'], WORKLOAD_UID);
    assert.match(id.output, /^uid=1000\(\w+\) gid=1000\(\w+\) groups=1000\(\w+\)$/);
    const after = execFileSync('ip', ['netns', 'exec', app.netns, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' });
    assert.match(after, /-A SLUICE_REDIRECT -p tcp -j REDIRECT --to-ports 15001/);
  });

  test('a second host with a name in use is refused and the existing one keeps working', async () => {
    await assert.rejects(createWorkloadHost({ mesh, name: 'app', ip: '10.233.100.12', inboundPorts: [] }), {
      code: 'ERR_CAPTURE_HOST_SETUP',
      message: /slt-cap-a-app/,
    });
    await assert.rejects(createWorkloadHost({ mesh, name: 'x', ip: '10.233.101.12', inboundPorts: [] }), {
      code: 'ERR_CAPTURE_OPTIONS',
      path: 'ip',
    });
    const r = await runProgram(app, tcpClientScript(external.ip, 7000), PROXY_UID);
    assert.deepEqual(json(r.output), { data: 'external-server' });
  });

  test('(g) destroy removes namespace, veth, /etc/netns dir and bridge; the host ruleset is untouched', async () => {
    await Promise.all([app.destroy(), peer.destroy(), external.destroy()]);
    await Promise.all([app.destroy(), external.destroy()]); // idempotent
    await destroyMeshNetwork(mesh);
    await destroyMeshNetwork(mesh);
    const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    assert.doesNotMatch(namespaces, /slt-cap-a-/);
    const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
    // This file's bridge and veths only: other capture test files may run at the same time.
    assert.doesNotMatch(links, /sltcapa0|sltca[0-9a-f]{6}/);
    assert.equal(existsSync(`/etc/netns/${app.netns}`), false);
    assert.deepEqual(
      readdirSync('/etc/netns').filter((d) => d.startsWith('slt-cap-a-')),
      [],
    );
    const rulesAfter = hostRuleset();
    assert.deepEqual(
      rulesBefore.filter((l) => !rulesAfter.includes(l)),
      [],
      'no host rule removed',
    );
    assert.deepEqual(
      rulesAfter.filter((l) => /SLUICE|sltca/.test(l)),
      [],
      'no capture rule leaked into the host',
    );
    for (const p of programs) assert.notEqual(await p.exited, undefined, 'every process in the namespaces ended');
  });
});
