import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tsx is resolved from there). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** How a process ended: its exit code, or the signal that killed it. */
export interface ProcessEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type BookinfoService = 'details' | 'ratings' | 'reviews' | 'productpage';

/** A Bookinfo service running as a child process on an ephemeral port. */
export interface RunningService {
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** Everything the process printed so far. */
  output(): string;
  /** SIGTERM, then SIGKILL after 8 s; idempotent. Resolves to how the process ended. */
  stop(): Promise<ProcessEnd>;
}

const START_TIMEOUT_MS = 20_000;

/**
 * Starts `samples/bookinfo/src/<service>/main.ts` with port 0 and only the given environment
 * (plus PATH and HOME), and resolves once it prints its port.
 */
export function startService(service: BookinfoService, env: Record<string, string> = {}): Promise<RunningService> {
  const main = path.join(REPO_ROOT, 'samples/bookinfo/src', service, 'main.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', main, '0'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const stop = stopper(child);
  return new Promise<RunningService>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${service} did not start within ${START_TIMEOUT_MS} ms:\n${output}`));
    }, START_TIMEOUT_MS);
    const onData = () => {
      const match = /listening on port (\d+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      const port = Number(match[1]);
      resolve({ port, url: `http://127.0.0.1:${port}`, output: () => output, stop });
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${service} exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
}

function stopper(child: ChildProcess): () => Promise<ProcessEnd> {
  let stopped: Promise<ProcessEnd> | undefined;
  return () => {
    stopped ??= new Promise<ProcessEnd>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve({ code: child.exitCode, signal: child.signalCode });
        return;
      }
      const kill = setTimeout(() => child.kill('SIGKILL'), 8000);
      child.once('exit', (code, signal) => {
        clearTimeout(kill);
        resolve({ code, signal });
      });
      child.kill('SIGTERM');
    });
    return stopped;
  };
}
