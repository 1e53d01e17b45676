/**
 * The filter-table half of the capture rules, applied in a real workload namespace: the workload
 * (uid 1000) cannot reach the sidecar's admin port on loopback, and nothing but TCP (captured) and
 * DNS (redirected) leaves its namespace — no UDP, no ICMP echo — while the sidecar (uid 1337), the
 * inbound path and the kernel's own replies keep working. Needs root.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { cleanup } from '../hosts/cleanup.js';
import { createMeshNetwork, destroyMeshNetwork, type MeshNetwork } from '../hosts/mesh-network.js';
import {
  type RunningProgram,
  runProgram,
  startProgram,
  tcpClientScript,
  tcpServerScript,
} from '../hosts/netns-test-kit.js';
import { createTestHost, type TestHost } from '../hosts/test-host.js';
import { createWorkloadHost, type NetnsHost, type WorkloadHost } from '../hosts/workload-host.js';

const prefixes = { netnsPrefix: 'slt-secfix-', bridge: 'slt-secfix-br', vethPrefix: 'sltsf' };
const WORKLOAD_UID = 1000;
const PROXY_UID = 1337;

/** Prints one JSON line per datagram received; answers each with `reply` when given. */
const udpServerScript = (host: string, port: number, reply?: string) => [
  process.execPath,
  '-e',
  `const s=require('dgram').createSocket(${JSON.stringify(host.includes(':') ? 'udp6' : 'udp4')});s.on('message',(m,r)=>{console.log(JSON.stringify({got:m.toString(),from:r.address}));${reply ? `s.send(${JSON.stringify(reply)},r.port,r.address)` : ''}});s.bind(${port},${JSON.stringify(host)},()=>console.log('listening'))`,
];

/** Sends three datagrams and waits briefly for an answer; prints `{sent, errors, answer}`. */
const udpClientScript = (host: string, port: number) => [
  process.execPath,
  '-e',
  `const s=require('dgram').createSocket('udp4');let sent=0,errors=[],answer=null,n=0;s.on('error',e=>errors.push(e.code));s.on('message',m=>answer=m.toString());const next=()=>{if(n++===3){setTimeout(()=>{console.log(JSON.stringify({sent,errors,answer}));process.exit(0)},300);return}s.send('probe',${port},${JSON.stringify(host)},e=>{if(e)errors.push(e.code);else sent++;setTimeout(next,20)})};next()`,
];

const json = (output: string) => JSON.parse(output.split('\n').find((l) => l.startsWith('{')) ?? 'null');
const received = (p: RunningProgram) => p.lines.filter((l) => l.startsWith('{'));

describe('capture filter rules in a workload namespace (root, real netns and iptables)', () => {
  let mesh: MeshNetwork;
  let app: WorkloadHost;
  let ext: TestHost;
  const programs: RunningProgram[] = [];
  let extUdp: RunningProgram;
  const start = async (host: NetnsHost, argv: string[], uid: number) => {
    const p = startProgram(host, argv, uid);
    programs.push(p);
    await p.waitForLine((l) => l === 'listening');
    return p;
  };

  before(async () => {
    await cleanup({
      netnsPrefix: prefixes.netnsPrefix,
      bridgePrefix: prefixes.bridge,
      vethPrefix: prefixes.vethPrefix,
    });
    mesh = await createMeshNetwork({ name: 'secfix', subnet: '10.233.160.0/24', ...prefixes });
    app = await createWorkloadHost({ mesh, name: 'app', ip: '10.233.160.10', inboundPorts: [9080] });
    ext = await createTestHost({ mesh, name: 'ext', ip: '10.233.160.200' });
    // stand-ins for the sidecar's listeners, as the sidecar's uid; the admin one on both families
    await start(app, tcpServerScript('::', 15000, 'admin'), PROXY_UID);
    await start(app, tcpServerScript('127.0.0.1', 15090, 'metrics'), PROXY_UID);
    await start(app, tcpServerScript('0.0.0.0', 15001, 'captured-outbound'), PROXY_UID);
    await start(app, tcpServerScript('0.0.0.0', 15006, 'captured-inbound'), PROXY_UID);
    await start(app, udpServerScript('127.0.0.1', 15053, 'dns-answer'), PROXY_UID);
    // the workload serving a port that is not captured
    await start(app, tcpServerScript('0.0.0.0', 8080, 'workload-itself'), WORKLOAD_UID);
    extUdp = await start(ext, udpServerScript(ext.ip, 7200, 'ext-answer'), WORKLOAD_UID);
  });

  after(async () => {
    for (const p of programs) p.kill();
    await Promise.allSettled([app?.destroy(), ext?.destroy()]);
    if (mesh) await destroyMeshNetwork(mesh);
    await cleanup({
      netnsPrefix: prefixes.netnsPrefix,
      bridgePrefix: prefixes.bridge,
      vethPrefix: prefixes.vethPrefix,
    });
  });

  test("the workload is refused at the sidecar's admin port on 127.0.0.1 and ::1; the sidecar is not", async () => {
    for (const host of ['127.0.0.1', '::1']) {
      const workload = await runProgram(app, tcpClientScript(host, 15000), WORKLOAD_UID);
      assert.deepEqual(json(workload.output), { error: 'ECONNREFUSED' }, host);
      const sidecar = await runProgram(app, tcpClientScript(host, 15000), PROXY_UID);
      assert.deepEqual(json(sidecar.output), { data: 'admin' }, host);
    }
    // metrics stay readable; a direct connection to the capture port reaches the (black-holing) proxy
    assert.deepEqual(json((await runProgram(app, tcpClientScript('127.0.0.1', 15090), WORKLOAD_UID)).output), {
      data: 'metrics',
    });
    assert.deepEqual(json((await runProgram(app, tcpClientScript('127.0.0.1', 15006), WORKLOAD_UID)).output), {
      data: 'captured-inbound',
    });
    // the pod address is not loopback: that connection is captured like any other
    assert.deepEqual(json((await runProgram(app, tcpClientScript(app.ip, 15000), WORKLOAD_UID)).output), {
      data: 'captured-outbound',
    });
  });

  test('UDP from the workload never leaves the namespace; the sidecar uid may send it', async () => {
    for (const target of [ext.ip, mesh.gateway, '203.0.113.7']) {
      const r = json((await runProgram(app, udpClientScript(target, 7200), WORKLOAD_UID)).output);
      assert.deepEqual(r, { sent: 0, errors: ['EPERM', 'EPERM', 'EPERM'], answer: null }, `send refused: ${target}`);
    }
    assert.deepEqual(received(extUdp), [], 'no datagram of the workload reached the host outside');
    const sidecar = json((await runProgram(app, udpClientScript(ext.ip, 7200), PROXY_UID)).output);
    assert.equal(sidecar.answer, 'ext-answer');
    assert.equal(received(extUdp).length, 3);
  });

  test('DNS (UDP to port 53 of any address) still reaches the answerer through the redirect', async () => {
    const r = json((await runProgram(app, udpClientScript(mesh.gateway, 53), WORKLOAD_UID)).output);
    assert.deepEqual(r, { sent: 3, errors: [], answer: 'dns-answer' });
  });

  test('no ICMP echo: no ping socket for the workload, and its ICMP would be refused anyway', async () => {
    const range = execFileSync('ip', ['netns', 'exec', app.netns, 'sysctl', '-n', 'net.ipv4.ping_group_range'], {
      encoding: 'utf8',
    });
    assert.match(range, /^1\s+0$/m);
    const ping = await runProgram(
      app,
      [
        '/usr/bin/python3',
        '-c',
        'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)',
      ],
      WORKLOAD_UID,
    );
    assert.match(ping.output, /PermissionError/);
    const saved = execFileSync('ip', ['netns', 'exec', app.netns, 'iptables-save', '-t', 'filter'], {
      encoding: 'utf8',
    });
    assert.match(saved, /^-A SLUICE_EGRESS -j REJECT --reject-with icmp-port-unreachable$/m);
  });

  test('inbound keeps working: replies of the workload, the captured port, and resets of the kernel', async () => {
    assert.deepEqual(json((await runProgram(ext, tcpClientScript(app.ip, 8080), WORKLOAD_UID)).output), {
      data: 'workload-itself',
    });
    assert.deepEqual(json((await runProgram(ext, tcpClientScript(app.ip, 9080), WORKLOAD_UID)).output), {
      data: 'captured-inbound',
    });
    // a closed port answers with the kernel's reset (no socket owns it), not a timeout
    assert.deepEqual(json((await runProgram(ext, tcpClientScript(app.ip, 8081), WORKLOAD_UID)).output), {
      error: 'ECONNREFUSED',
    });
  });
});
