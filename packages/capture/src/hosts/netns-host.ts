import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { CaptureOptionsError } from '../errors.js';
import { inNetns, ip } from './command.js';
import { formatIpv4, parseIpv4, parseIpv4Subnet, subnetContains } from './ipv4.js';
import { disableIpv6, type MeshNetwork } from './mesh-network.js';

/** Names of one host's pieces on the machine. */
export interface HostNames {
  netns: string;
  /** veth end left in the host namespace, attached to the bridge. */
  vethHost: string;
}

const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

export function hostNames(mesh: MeshNetwork, name: string): HostNames {
  if (typeof name !== 'string' || !HOST_NAME.test(name)) {
    throw new CaptureOptionsError(
      'name',
      `must be 1-40 lowercase letters, digits or inner "-", got ${JSON.stringify(name)}`,
    );
  }
  const netns = `${mesh.netnsPrefix}${name}`;
  const hash = createHash('sha256').update(netns).digest('hex');
  return { netns, vethHost: `${mesh.vethPrefix}${hash.slice(0, 15 - mesh.vethPrefix.length)}` };
}

/** Checks `address` is a usable host address of the mesh subnet (not the network, bridge or broadcast). */
export function checkHostAddress(mesh: MeshNetwork, address: string): string {
  const subnet = parseIpv4Subnet(mesh.subnet, 'mesh.subnet');
  const value = parseIpv4(address, 'ip');
  if (!subnetContains(subnet, value))
    throw new CaptureOptionsError('ip', `${address} is not in the mesh subnet ${mesh.subnet}`);
  const last = subnet.network + 2 ** (32 - subnet.prefixLength) - 1;
  if (value === subnet.network || value === last || formatIpv4(value) === mesh.gateway) {
    throw new CaptureOptionsError('ip', `${address} is the network, broadcast or bridge address of ${mesh.subnet}`);
  }
  return address;
}

/**
 * Creates a namespace joined to the mesh bridge: `lo` up (with `::1`), `eth0` with `address`, the
 * connected route, IPv6 disabled on every other interface. Rolls back what it made if a step fails.
 */
export async function createJoinedNetns(mesh: MeshNetwork, names: HostNames, address: string): Promise<void> {
  await ip('netns', 'add', names.netns);
  try {
    // interfaces created after this inherit "no IPv6"; lo already exists and keeps ::1
    await inNetns(names.netns, 'sysctl', ['-q', '-w', 'net.ipv6.conf.default.disable_ipv6=1']);
    await ip('link', 'add', names.vethHost, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', names.netns);
    await disableIpv6(names.vethHost);
    await ip('link', 'set', names.vethHost, 'master', mesh.bridge, 'up');
    await ip('-n', names.netns, 'link', 'set', 'lo', 'up');
    await ip('-n', names.netns, 'addr', 'add', `${address}/${mesh.prefixLength}`, 'dev', 'eth0');
    await ip('-n', names.netns, 'link', 'set', 'eth0', 'up');
  } catch (err) {
    await removeNetnsHost(names);
    throw err;
  }
}

/**
 * Removes a host: kills processes still in its namespace, deletes the namespace, the host-side veth
 * and `/etc/netns/<netns>`. Each step tolerates "already gone". Returns the pids it killed.
 */
export async function removeNetnsHost(names: HostNames): Promise<number[]> {
  const killed: number[] = [];
  const pids = await ip('netns', 'pids', names.netns).then(
    (r) => r.stdout.split(/\s+/).filter(Boolean).map(Number),
    () => [] as number[],
  );
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  await ip('netns', 'del', names.netns).catch(ignoreMissing);
  await ip('link', 'del', names.vethHost).catch(ignoreMissing);
  await rm(`/etc/netns/${names.netns}`, { recursive: true, force: true });
  return killed;
}

function ignoreMissing(err: Error & { stderr?: string }): void {
  if (!/No such file|No such device|Cannot find device|does not exist/.test(err.stderr ?? '')) throw err;
}
