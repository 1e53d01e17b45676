/**
 * The demo's environment in a process of its own, so that `sluice demo --keep` can exit and leave
 * it running, and `sluice demo --down` (or the next demo) can stop it by its pid file.
 * `serveDemoRuntime` is that process's body; `spawnDemoRuntime` and `stopDemoRuntime` are the
 * driver's side.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, tsxLoader } from '@sluice/agent';
import type { DemoLayout } from './layout.js';
import { startDemoRuntime } from './runtime.js';

/** What the runtime process publishes in `runtime.json` once everything is up. */
export interface RuntimeInfo {
  pid: number;
  kubeconfig: string;
  apiUrl: string;
  xdsPort: number;
  pageBaseUrl: string;
  podLogDir: string;
  mysql: { host: string; port: number; socketPath: string };
  /** What was started, one line each. */
  started: string[];
}

export class DemoRuntimeError extends Error {
  constructor(
    readonly code: 'RuntimeFailed' | 'RuntimeTimeout',
    message: string,
  ) {
    super(message);
    this.name = 'DemoRuntimeError';
  }
}

const MAIN = path.join(repoRoot, 'packages', 'cli', 'src', 'main.ts');

/** Body of `sluice demo --serve`: starts the runtime, publishes it, stops it on SIGTERM/SIGINT. */
export async function serveDemoRuntime(layout: DemoLayout): Promise<void> {
  mkdirSync(layout.dataDir, { recursive: true });
  writeFileSync(layout.pidFile, `${process.pid}\n`);
  const started: string[] = [];
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  process.once('SIGTERM', () => stop());
  process.once('SIGINT', () => stop());
  const rt = await startDemoRuntime({
    dataDir: layout.dataDir,
    mysqlDir: layout.mysqlDir,
    meshName: layout.meshName,
    subnet: layout.subnet,
    mysqlIp: layout.mysqlIp,
    apiPort: layout.apiPort,
    xdsPort: layout.xdsPort,
    pagePort: layout.pagePort,
    say: (line) => {
      started.push(line);
      process.stdout.write(`${line}\n`);
    },
  });
  const info: RuntimeInfo = {
    pid: process.pid,
    kubeconfig: rt.kubeconfigPath,
    apiUrl: rt.cp.apiUrl,
    xdsPort: rt.cp.xdsPort,
    pageBaseUrl: rt.pageBaseUrl,
    podLogDir: rt.podLogDir,
    mysql: { host: rt.mysql.host, port: rt.mysql.port, socketPath: rt.mysql.socketPath },
    started,
  };
  writeFileSync(layout.runtimeFile, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  await stopped;
  process.stdout.write('stopping the demo environment\n');
  rmSync(layout.runtimeFile, { force: true });
  await rt.close();
  rmSync(layout.pidFile, { force: true });
  process.stdout.write('stopped\n');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when `pid` is a `sluice demo --serve` process (guards against a reused pid). */
function isRuntimeProcess(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('demo') && argv.includes('--serve');
  } catch {
    return false;
  }
}

/** Starts the runtime process (detached, logging to runtime.log) and waits until it is up. */
export async function spawnDemoRuntime(layout: DemoLayout, timeoutMs = 120_000): Promise<RuntimeInfo> {
  mkdirSync(layout.dataDir, { recursive: true });
  rmSync(layout.runtimeFile, { force: true });
  const log = openSync(layout.runtimeLog, 'a');
  const child = spawn(
    process.execPath,
    [
      '--import',
      tsxLoader(),
      MAIN,
      'demo',
      '--serve',
      '--data-dir',
      layout.dataDir,
      '--port',
      String(layout.pagePort),
      '--api-port',
      String(layout.apiPort),
      '--xds-port',
      String(layout.xdsPort),
    ],
    { detached: true, stdio: ['ignore', log, log], cwd: repoRoot },
  );
  closeSync(log);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? `code ${code}`}`;
  });
  child.unref();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(layout.runtimeFile)) {
      try {
        const info = JSON.parse(readFileSync(layout.runtimeFile, 'utf8')) as RuntimeInfo;
        if (info.pid === child.pid) return info;
      } catch {
        // being written
      }
    }
    if (exited || Date.now() > deadline) {
      const tail = readFileSync(layout.runtimeLog, 'utf8').trim().split('\n').slice(-8).join('\n');
      if (!exited) await stopDemoRuntime(layout);
      throw new DemoRuntimeError(
        exited ? 'RuntimeFailed' : 'RuntimeTimeout',
        `the demo environment ${exited ?? `was not up within ${timeoutMs / 1000} s`}; last lines of ${layout.runtimeLog}:\n${tail}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Reads runtime.json of a running demo, if any. */
export function readRuntimeInfo(layout: DemoLayout): RuntimeInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(layout.runtimeFile, 'utf8')) as RuntimeInfo;
    return alive(info.pid) ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Stops a runtime process found by its pid file: SIGTERM, then SIGKILL after 20 s. True if one ran. */
export async function stopDemoRuntime(layout: DemoLayout): Promise<boolean> {
  let pid: number;
  try {
    pid = Number(readFileSync(layout.pidFile, 'utf8').trim());
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !alive(pid) || !isRuntimeProcess(pid)) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 20_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  while (alive(pid)) await new Promise((r) => setTimeout(r, 100));
  return true;
}
