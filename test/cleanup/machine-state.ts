/** What the machine looks like, for the suite's leftover check: namespaces, links, iptables, listeners. */
import { execFileSync } from 'node:child_process';

export const SLUICE_PREFIXES = /^(sl-|slt-|slbr-|slv|sltc)/;

export function netnsList(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean)
    .sort();
}

export function links(): string[] {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1] ?? '')
    .filter(Boolean)
    .sort();
}

/** iptables-save without counters and comments, so only rules and policies compare. */
export function iptablesRules(cmd: 'iptables-save' | 'ip6tables-save'): string {
  return execFileSync(cmd, { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/g, ''))
    .join('\n');
}

export function meshPortListeners(): string[] {
  return execFileSync('ss', ['-ltnH'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[3] ?? '')
    .filter((a) => /:(150[0-9][0-9]|9080)$/.test(a))
    .sort();
}
