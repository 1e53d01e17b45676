/**
 * Runs `bin/sluice up` as a child process on ephemeral loopback ports and keeps everything it
 * prints, so a scenario can sample its memory (/proc/<pid>/status), read its logs and command
 * line, and stop it. `stop()` is idempotent (SIGTERM, SIGKILL after 5 s).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const SLUICE_BIN = new URL('../../../bin/sluice', import.meta.url).pathname;

export interface ControlPlaneProcess {
  readonly pid: number;
  readonly apiUrl: string;
  readonly kubeconfigPath: string;
  /** Everything the process wrote to stdout and stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resident set size now and its peak (VmRSS, VmHWM), in bytes. */
  memory(): { rss: number; peak: number };
  stop(): Promise<void>;
}

function statusField(pid: number, field: string): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  if (!m) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(m[1]) * 1024;
}

/** `sluice up --data-dir <dataDir>` with the API and xDS on free loopback ports. */
export async function startControlPlaneProcess(
  dataDir: string,
  opts: { logLevel?: 'debug' | 'info' | 'warn' | 'error'; env?: NodeJS.ProcessEnv } = {},
): Promise<ControlPlaneProcess> {
  const args = [
    'up',
    '--data-dir',
    dataDir,
    '--listen',
    '127.0.0.1:0',
    '--xds-listen',
    '127.0.0.1:0',
    '--log-level',
    opts.logLevel ?? 'info',
  ];
  const child: ChildProcess = spawn(SLUICE_BIN, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    err += c;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const started = await new Promise<{ api: string; kubeconfig: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sluice up did not start within 30 s:\n${out}\n${err}`));
    }, 30_000);
    const onData = () => {
      const api = /^\s*API:\s+(\S+)$/m.exec(out);
      const kubeconfig = /^\s*kubeconfig:\s+(\S+)$/m.exec(out);
      if (!api || !kubeconfig) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      resolve({ api: api[1]!, kubeconfig: kubeconfig[1]! });
    };
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`sluice up exited (${code ?? signal}) before it started:\n${out}\n${err}`));
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid!,
    apiUrl: started.api,
    kubeconfigPath: started.kubeconfig,
    stdout: () => out,
    stderr: () => err,
    memory: () => ({ rss: statusField(child.pid!, 'VmRSS'), peak: statusField(child.pid!, 'VmHWM') }),
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
