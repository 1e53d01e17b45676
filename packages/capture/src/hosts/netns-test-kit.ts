/**
 * Test kit for namespace tests: runs small Node programs inside a host as a given uid and collects
 * their output lines. Only tests import it.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import type { NetnsHost } from './workload-host.js';

export interface RunningProgram {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** Resolves with the first line matching, or rejects after `timeoutMs` naming what was seen. */
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
  kill(): void;
}

export function startProgram(host: NetnsHost, argv: string[], uid: number, cwd?: string): RunningProgram {
  const child = host.exec(argv, { uid, gid: uid, stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let partial = '';
  const onData = (chunk: Buffer) => {
    partial += chunk.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    kill: () => {
      child.kill('SIGKILL');
    },
    waitForLine(match, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching line within ${timeoutMs} ms; seen: ${JSON.stringify(lines)}`)),
          timeoutMs,
        );
        const check = () => {
          const hit = lines.find(match);
          if (hit !== undefined) {
            clearTimeout(timer);
            resolve(hit);
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}

/** Runs a program to completion; resolves with its exit code and combined output. */
export async function runProgram(
  host: NetnsHost,
  argv: string[],
  uid: number,
): Promise<{ code: number | null; output: string }> {
  const p = startProgram(host, argv, uid);
  const code = await p.exited;
  await new Promise((r) => setImmediate(r));
  return { code, output: p.lines.join('\n') };
}

/** A TCP server printing one JSON line per accepted connection, answering `reply`. */
export function tcpServerScript(host: string, port: number, reply: string): string[] {
  return [
    process.execPath,
    '-e',
    `const net=require('net');net.createServer(s=>{console.log(JSON.stringify({accepted:true,local:s.localAddress+':'+s.localPort,remote:s.remoteAddress}));s.end(${JSON.stringify(reply)});s.on('error',()=>{})}).listen(${port},${JSON.stringify(host)},()=>console.log('listening'))`,
  ];
}

/** A TCP client printing `{"data":...}` or `{"error":code}` as one JSON line. */
export function tcpClientScript(host: string, port: number): string[] {
  return [
    process.execPath,
    '-e',
    `const net=require('net');let d='';const s=net.connect(${port},${JSON.stringify(host)});s.setTimeout(4000,()=>{console.log(JSON.stringify({error:'TIMEOUT'}));process.exit(0)});s.on('data',c=>d+=c);s.on('end',()=>{console.log(JSON.stringify({data:d}));process.exit(0)});s.on('error',e=>{console.log(JSON.stringify({error:e.code}));process.exit(0)})`,
  ];
}

/** Lines of the host's own iptables and ip6tables rulesets, without comments and packet counters. */
export function hostRuleset(): string[] {
  const lines = (command: string) =>
    execFileSync(command, { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.length > 0 && !l.startsWith('#'))
      .map((l) => `${command}: ${l.replace(/\[\d+:\d+\]/g, '')}`);
  return [...lines('iptables-save'), ...lines('ip6tables-save')];
}
