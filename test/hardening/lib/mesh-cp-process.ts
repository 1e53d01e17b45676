/**
 * A control plane in a child process (mesh-cp-launcher.ts) that a fault scenario can SIGKILL and
 * start again on the same data dir and the same ports, so proxies and the node agent reconnect to
 * the address they already know. `stop()` is idempotent (SIGTERM, SIGKILL after 5 s).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { tsxLoader } from '@sluice/agent';

const LAUNCHER = new URL('./mesh-cp-launcher.ts', import.meta.url).pathname;

export interface ControlPlaneChildOptions {
  dataDir: string;
  /** 0 picks free ports on the first start; restarts reuse the ports it got. */
  apiPort?: number;
  xdsPort?: number;
  xdsAddresses: string[];
  store?: 'sqlite' | 'etcd';
  etcdEndpoints?: string[];
}

export interface ControlPlaneChild {
  readonly pid: number;
  readonly apiPort: number;
  readonly xdsPort: number;
  readonly kubeconfigPath: string;
  /** Everything the current process wrote to stderr. */
  stderr(): string;
  /** Sends `signal` (default SIGKILL) and resolves when the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a new process on the same data dir and ports (after kill or stop). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

interface Started {
  child: ChildProcess;
  exited: Promise<void>;
  info: { apiPort: number; xdsPort: number; kubeconfigPath: string };
  err: () => string;
}

async function launch(o: ControlPlaneChildOptions): Promise<Started> {
  const args = JSON.stringify({
    dataDir: o.dataDir,
    apiPort: o.apiPort ?? 0,
    xdsPort: o.xdsPort ?? 0,
    xdsAddresses: o.xdsAddresses,
    ...(o.store ? { store: o.store } : {}),
    ...(o.etcdEndpoints ? { etcdEndpoints: o.etcdEndpoints } : {}),
  });
  const child = spawn(process.execPath, ['--import', tsxLoader(), LAUNCHER, args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    err += c;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const info = await new Promise<Started['info']>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`control plane did not start within 30 s:\n${err}`));
    }, 30_000);
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line && out.includes('\n')) {
        clearTimeout(timer);
        resolve(JSON.parse(line));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`control plane exited (${code ?? signal}) before it started:\n${err}`));
    });
  });
  return { child, exited, info, err: () => err };
}

export async function startControlPlaneChild(o: ControlPlaneChildOptions): Promise<ControlPlaneChild> {
  let cur = await launch(o);
  const fixed = { ...o, apiPort: cur.info.apiPort, xdsPort: cur.info.xdsPort };
  const running = () => cur.child.exitCode === null && cur.child.signalCode === null;
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (running()) cur.child.kill(signal);
    await cur.exited;
  };
  return {
    get pid() {
      return cur.child.pid!;
    },
    apiPort: cur.info.apiPort,
    xdsPort: cur.info.xdsPort,
    kubeconfigPath: cur.info.kubeconfigPath,
    stderr: () => cur.err(),
    kill,
    async restart() {
      await kill();
      cur = await launch(fixed);
    },
    async stop() {
      if (!running()) return;
      const timer = setTimeout(() => cur.child.kill('SIGKILL'), 5000);
      await kill('SIGTERM');
      clearTimeout(timer);
    },
  };
}
