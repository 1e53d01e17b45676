/**
 * A real, single-member etcd (Debian `etcd-server`, 3.4+) for tests and benchmarks: free loopback
 * ports, fast election timeouts, ready once /health says so. It never binds a fixed port and removes
 * the data directory it created when stopped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface StartEtcdOptions {
  /** Where etcd keeps its data; default a fresh temp dir (removed by stop()). */
  dataDir?: string;
  /** The etcd executable; default `etcd` on PATH. */
  binary?: string;
  /** How long to wait for /health, in ms. Default 15,000. */
  readyTimeoutMs?: number;
}

export interface EtcdProcess {
  /** Client URLs, e.g. `["http://127.0.0.1:41234"]`. Stable across restart(). */
  endpoints: string[];
  dataDir: string;
  /** Graceful stop (SIGTERM, then SIGKILL after 5 s); removes a data dir it created. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL now, keeping the data dir (to test crashes); restart() brings it back. */
  kill(): void;
  /** Stops (if running) and starts again on the same ports and data dir; resolves when healthy. */
  restart(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url: string, child: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`etcd exited (${child.exitCode ?? child.signalCode}) before it was healthy: ${log()}`);
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { health?: string };
      if (body.health === 'true') return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`etcd at ${url} was not healthy within ${timeoutMs} ms: ${log()}`);
}

/** Starts etcd on free loopback ports and resolves once it is healthy. */
export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdProcess> {
  const ownDir = opts.dataDir === undefined;
  const baseDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'slt-store-etcd-'));
  const dataDir = ownDir ? join(baseDir, 'data') : baseDir;
  const binary = opts.binary ?? 'etcd';
  const readyTimeoutMs = opts.readyTimeoutMs ?? 15_000;
  let clientPort = 0;
  let peerPort = 0;
  let child: ChildProcess | undefined;
  let stderr = '';
  const killOnExit = () => child?.kill('SIGKILL');
  process.on('exit', killOnExit);

  async function launch(): Promise<void> {
    const clientUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    stderr = '';
    const proc = spawn(
      binary,
      [
        '--name=slt-store-etcd',
        `--data-dir=${dataDir}`,
        '--logger=zap',
        '--log-level=warn',
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=slt-store-etcd=${peerUrl}`,
        '--initial-cluster-state=new',
        '--initial-cluster-token=slt-store-etcd',
        '--heartbeat-interval=10',
        '--election-timeout=100',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = proc;
    proc.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const spawnError = new Promise<never>((_, reject) =>
      proc.once('error', (err) => reject(new Error(`cannot run ${binary}: ${err.message}`))),
    );
    await Promise.race([waitHealthy(clientUrl, proc, () => stderr, readyTimeoutMs), spawnError]);
  }

  async function halt(): Promise<void> {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    clientPort = await freePort();
    peerPort = await freePort();
    try {
      await launch();
      lastError = undefined;
      break;
    } catch (err) {
      lastError = err; // most likely a port taken between probing and binding: try other ports
      await halt();
    }
  }
  if (lastError !== undefined) {
    process.off('exit', killOnExit);
    if (ownDir) rmSync(baseDir, { recursive: true, force: true });
    throw lastError;
  }

  let stopped = false;
  return {
    endpoints: [`http://127.0.0.1:${clientPort}`],
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await halt();
      process.off('exit', killOnExit);
      if (ownDir) rmSync(baseDir, { recursive: true, force: true });
    },
    kill() {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    async restart() {
      if (stopped) throw new Error('etcd was stopped; start a new one');
      await halt();
      await launch();
    },
  };
}
