/**
 * The kernel's TCP and conntrack counters of one network namespace (what `nstat -a` and
 * `/proc/net/stat/nf_conntrack` show), so a load scenario can say what the kernel saw while it
 * ran: listen-queue overflows, TIME_WAIT overflows, resets, conntrack insert failures.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export type NetCounters = Record<string, number>;

/** Parses the header/value line pairs of /proc/net/netstat and /proc/net/snmp ("TcpExt: A B" / "TcpExt: 1 2"). */
function parsePairs(text: string, into: NetCounters): void {
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = lines[i]!.split(/\s+/);
    const values = lines[i + 1]!.split(/\s+/);
    const prefix = names[0]!.replace(/:$/, '');
    for (let j = 1; j < names.length; j++) {
      if (names[j] && values[j] !== undefined) into[`${prefix}.${names[j]}`] = Number(values[j]);
    }
  }
}

/** Sums the per-CPU hex columns of /proc/net/stat/nf_conntrack (absent without conntrack). */
function parseConntrack(text: string, into: NetCounters): void {
  const [header, ...rows] = text.trim().split('\n');
  if (!header) return;
  const names = header.trim().split(/\s+/);
  for (const row of rows) {
    const cols = row.trim().split(/\s+/);
    names.forEach((name, j) => {
      if (name === 'entries' || cols[j] === undefined) return;
      into[`Conntrack.${name}`] = (into[`Conntrack.${name}`] ?? 0) + Number.parseInt(cols[j]!, 16);
    });
  }
}

/** Counters of network namespace `netns` (named, as `ip netns` lists it), or of this process's when undefined. */
export function readNetCounters(netns?: string): NetCounters {
  const files = ['/proc/net/netstat', '/proc/net/snmp', '/proc/net/stat/nf_conntrack'];
  const read = (file: string): string => {
    try {
      return netns === undefined
        ? readFileSync(file, 'utf8')
        : execFileSync('ip', ['netns', 'exec', netns, 'cat', file], {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'ignore'],
          });
    } catch {
      return '';
    }
  };
  const out: NetCounters = {};
  parsePairs(read(files[0]!), out);
  parsePairs(read(files[1]!), out);
  parseConntrack(read(files[2]!), out);
  return out;
}

/**
 * The counters that say a connection was dropped, refused or reset somewhere, as after - before
 * (only those that moved).
 */
export const LOSS_COUNTERS = [
  'TcpExt.ListenOverflows',
  'TcpExt.ListenDrops',
  'TcpExt.TCPReqQFullDrop',
  'TcpExt.TCPBacklogDrop',
  'TcpExt.TCPTimeWaitOverflow',
  'TcpExt.TCPAbortOnData',
  'TcpExt.TCPAbortOnClose',
  'TcpExt.TCPAbortOnTimeout',
  'TcpExt.TCPAbortFailed',
  'TcpExt.TCPAbortOnMemory',
  'TcpExt.EmbryonicRsts',
  'TcpExt.PAWSEstab',
  'TcpExt.PAWSTimewait',
  'TcpExt.TCPSynRetrans',
  'TcpExt.TWRecycled',
  'Tcp.AttemptFails',
  'Tcp.EstabResets',
  'Tcp.OutRsts',
  'Conntrack.insert_failed',
  'Conntrack.drop',
  'Conntrack.early_drop',
  'Conntrack.invalid',
  'Conntrack.clashres',
] as const;

export function counterDeltas(
  before: NetCounters,
  after: NetCounters,
  keys: readonly string[] = LOSS_COUNTERS,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) {
    const d = (after[k] ?? 0) - (before[k] ?? 0);
    if (d !== 0) out[k.replace(/^(TcpExt|Tcp)\./, '')] = d;
  }
  return out;
}
