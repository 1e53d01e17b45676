/** Starts Sluice's proxy for the benchmark (see sluice-proxy-process.ts). */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopChild, type Target, waitForPort } from './targets.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Sluice's proxy with the given byte path, pinned to `cpus` (taskset execs node: the pid is the proxy's). */
export async function sluiceProxy(
  echoUpstream: number,
  sinkUpstream: number,
  engine: 'native' | 'js',
  cpus: string,
  relayThreads = 1,
  benchDir = here,
): Promise<Target> {
  const child = spawn(
    'taskset',
    [
      '-c',
      cpus,
      process.execPath,
      '--import',
      'tsx',
      path.join(benchDir, 'sluice-proxy-process.ts'),
      String(echoUpstream),
      String(sinkUpstream),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: path.resolve(benchDir, '../..'),
      env: { ...process.env, SLUICE_PROXY_BYTE_ENGINE: engine, SLUICE_PROXY_RELAY_THREADS: String(relayThreads) },
    },
  );
  const ports = await new Promise<{ echo: number; sink: number }>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
    });
    child.once('exit', (code) => reject(new Error(`the Sluice proxy exited early (code ${code})`)));
  });
  await waitForPort(ports.echo);
  await waitForPort(ports.sink);
  return { name: 'sluice', echoPort: ports.echo, sinkPort: ports.sink, pid: child.pid, stop: () => stopChild(child) };
}
