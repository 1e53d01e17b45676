/**
 * Servers "outside the mesh" for the hardening scenarios: a process in a test host that listens on
 * TCP and UDP ports of the host's address and reports every accepted connection, every byte and
 * every datagram (with its source address and the time it arrived) to the test process. A scenario
 * asserts on these counts: a blocked attempt must leave them at zero.
 */
import type { ChildProcess } from 'node:child_process';
import type { TestHost } from '@sluice/capture';

/** What a counting server saw, as it arrived. Arrays grow while the server runs. */
export interface CountingServer {
  readonly ip: string;
  /** One entry per accepted TCP connection. */
  readonly accepts: { port: number; from: string; at: number }[];
  /** One entry per chunk of TCP bytes received. */
  readonly chunks: { port: number; from: string; bytes: number; at: number; conn: number }[];
  /** One entry per UDP datagram received. */
  readonly datagrams: { port: number; from: string; bytes: number; at: number }[];
  acceptsOn(port: number, from?: string): number;
  bytesOn(port: number, from?: string): number;
  stop(): Promise<void>;
}

// Answers each TCP connection with "hello\n" and keeps it open until the client closes it.
const SERVER = (ip: string, tcp: number[], udp: number[]) => `
const net = require('net');
const dgram = require('dgram');
let conns = 0;
let pending = ${tcp.length + udp.length};
const up = () => { if (--pending === 0) console.log('listening'); };
for (const port of ${JSON.stringify(tcp)}) {
  net.createServer((s) => {
    const id = ++conns;
    const from = s.remoteAddress;
    console.log('A', port, from, Date.now(), id);
    s.on('data', (d) => console.log('B', port, from, d.length, Date.now(), id));
    s.on('error', () => {});
    s.on('end', () => s.end());
    s.write('hello\\n');
  }).listen(port, '${ip}', up);
}
for (const port of ${JSON.stringify(udp)}) {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (m, r) => console.log('U', port, r.address, m.length, Date.now()));
  sock.bind(port, '${ip}', up);
}
if (pending === 0) console.log('listening');
`;

/** Starts the counting server in `host` (as root, so ports below 1024 work). Resolves once it listens. */
export async function startCountingServer(
  host: TestHost,
  ports: { tcp?: number[]; udp?: number[] },
): Promise<CountingServer> {
  const child: ChildProcess = host.exec(['node', '-e', SERVER(host.ip, ports.tcp ?? [], ports.udp ?? [])], {
    uid: 0,
    stdio: 'pipe',
  });
  const accepts: CountingServer['accepts'] = [];
  const chunks: CountingServer['chunks'] = [];
  const datagrams: CountingServer['datagrams'] = [];
  let buf = '';
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const listening = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`counting server exited (${code}): ${stderr}`)));
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        const f = line.split(' ');
        if (line === 'listening') resolve();
        else if (f[0] === 'A') accepts.push({ port: Number(f[1]), from: f[2]!, at: Number(f[3]) });
        else if (f[0] === 'B')
          chunks.push({ port: Number(f[1]), from: f[2]!, bytes: Number(f[3]), at: Number(f[4]), conn: Number(f[5]) });
        else if (f[0] === 'U')
          datagrams.push({ port: Number(f[1]), from: f[2]!, bytes: Number(f[3]), at: Number(f[4]) });
      }
    });
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  try {
    await listening;
  } finally {
    clearTimeout(timer);
  }
  const match = (port: number, from?: string) => (e: { port: number; from: string }) =>
    e.port === port && (from === undefined || e.from === from);
  let stopped: Promise<void> | undefined;
  return {
    ip: host.ip,
    accepts,
    chunks,
    datagrams,
    acceptsOn: (port, from) => accepts.filter(match(port, from)).length,
    bytesOn: (port, from) => chunks.filter(match(port, from)).reduce((n, c) => n + c.bytes, 0),
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      });
      return stopped;
    },
  };
}
