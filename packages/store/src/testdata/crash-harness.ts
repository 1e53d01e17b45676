/**
 * Runs testdata/crash-writer.ts against a store, SIGKILLs it at a random moment after its first
 * acknowledged write, and returns what it acknowledged.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PeerSpec } from '../peer-spec.js';

export interface AckedWrite {
  name: string;
  resourceVersion: string;
  spec: unknown;
}

/** Starts a writer, kills it `killAfterMs` after its first ACK, and resolves with every ACK it printed. */
export function runAndKillWriter(spec: PeerSpec, runId: string, killAfterMs: number): Promise<AckedWrite[]> {
  const script = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(spec), runId], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acked: AckedWrite[] = [];
  let out = '';
  let err = '';
  let timer: NodeJS.Timeout | undefined;
  const safety = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.startsWith('ACK ')) {
          acked.push(JSON.parse(line.slice(4)) as AckedWrite);
          timer ??= setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(safety);
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited on its own (code ${code}, signal ${signal}): ${err}`));
      else if (acked.length === 0) reject(new Error(`writer was killed before acknowledging a write: ${err}`));
      else resolve(acked);
    });
  });
}
