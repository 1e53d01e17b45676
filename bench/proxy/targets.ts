/**
 * The three paths the proxy benchmark compares in one run: the direct connection (the limit),
 * HAProxy in `mode tcp` (the peer), and Sluice's proxy. Each target exposes two loopback ports:
 * one leading to the echo server, one to the sink server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Target {
  name: string;
  echoPort: number;
  sinkPort: number;
  /** pid whose CPU time and RSS are sampled (undefined for direct). */
  pid?: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}

export function direct(echoPort: number, sinkPort: number): Target {
  return { name: 'direct', echoPort, sinkPort, stop: async () => {} };
}

/**
 * HAProxy 2.6 in mode tcp with the given thread count and its throughput tuning (256 KB buffers),
 * pinned to `cpus` (taskset execs haproxy, so the child's pid is HAProxy's).
 */
export async function haproxy(
  echoUpstream: number,
  sinkUpstream: number,
  threads: number,
  cpus: string,
): Promise<Target> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-haproxy-'));
  const echoPort = await freePort();
  const sinkPort = await freePort();
  const cfg = `global
  nbthread ${threads}
  tune.bufsize 262144
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
listen echo
  bind 127.0.0.1:${echoPort}
  server s1 127.0.0.1:${echoUpstream}
listen sink
  bind 127.0.0.1:${sinkPort}
  server s1 127.0.0.1:${sinkUpstream}
`;
  const file = path.join(dir, 'haproxy.cfg');
  writeFileSync(file, cfg);
  const child = spawn('taskset', ['-c', cpus, 'haproxy', '-f', file, '-db'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForPort(echoPort);
  await waitForPort(sinkPort);
  return {
    name: 'haproxy',
    echoPort,
    sinkPort,
    pid: child.pid,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
