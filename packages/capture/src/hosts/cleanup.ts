import { readdir, rm } from 'node:fs/promises';
import { CaptureOptionsError } from '../errors.js';
import { ip } from './command.js';
import { DefaultPrefixes } from './mesh-network.js';
import { removeNetnsHost } from './netns-host.js';

export interface CleanupOptions {
  /** Shorthand: one prefix for namespaces, bridges and veths alike. */
  prefix?: string;
  /** Default `sl-`. */
  netnsPrefix?: string;
  /** Default `slbr-`. */
  bridgePrefix?: string;
  /** Default `slv`. */
  vethPrefix?: string;
}

/** What `cleanup()` removed. */
export interface CleanupReport {
  namespaces: string[];
  /** pids killed because they still ran in a removed namespace */
  killedPids: number[];
  veths: string[];
  bridges: string[];
  /** `/etc/netns/<name>` directories */
  netnsDirs: string[];
}

/**
 * Removes what Sluice leaves behind on a machine, found by name prefix: namespaces (killing processes
 * still in them), host-side veths, bridges, and `/etc/netns/<name>` directories. Anything without
 * the prefix is never touched. Meant for `sluice cleanup` when no mesh is running.
 */
export async function cleanup(options: CleanupOptions = {}): Promise<CleanupReport> {
  const netnsPrefix = checkPrefix('netnsPrefix', options.netnsPrefix ?? options.prefix ?? DefaultPrefixes.netns);
  const bridgePrefix = checkPrefix('bridgePrefix', options.bridgePrefix ?? options.prefix ?? DefaultPrefixes.bridge);
  const vethPrefix = checkPrefix('vethPrefix', options.vethPrefix ?? options.prefix ?? DefaultPrefixes.veth);
  const report: CleanupReport = { namespaces: [], killedPids: [], veths: [], bridges: [], netnsDirs: [] };

  const dirs = (await readdir('/etc/netns').catch(() => [] as string[])).filter((d) => d.startsWith(netnsPrefix));
  const namespaces = (await ip('netns', 'list')).stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(netnsPrefix));
  for (const netns of namespaces) {
    // the veth name is unknown here; deleting the namespace removes both ends of its veth
    report.killedPids.push(...(await removeNetnsHost({ netns, vethHost: `${netns}-none` }).catch(() => [])));
    report.namespaces.push(netns);
  }
  for (const dir of dirs) {
    await rm(`/etc/netns/${dir}`, { recursive: true, force: true });
    report.netnsDirs.push(dir);
  }
  for (const veth of await linksOfType('veth', vethPrefix)) {
    await ip('link', 'del', veth).then(
      () => report.veths.push(veth),
      () => undefined, // gone with its namespace meanwhile
    );
  }
  for (const bridge of await linksOfType('bridge', bridgePrefix)) {
    await ip('link', 'del', bridge);
    report.bridges.push(bridge);
  }
  return report;
}

async function linksOfType(type: string, prefix: string): Promise<string[]> {
  const links = JSON.parse((await ip('-j', 'link', 'show', 'type', type)).stdout || '[]') as Array<{ ifname: string }>;
  return links.map((l) => l.ifname).filter((name) => name.startsWith(prefix));
}

function checkPrefix(path: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[a-z][a-z0-9-]{1,39}$/.test(value)) {
    throw new CaptureOptionsError(
      path,
      'must be at least 2 characters (lowercase letters, digits, "-") starting with a letter',
    );
  }
  return value;
}
