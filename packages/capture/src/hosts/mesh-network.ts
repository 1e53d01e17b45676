import { writeFile } from 'node:fs/promises';
import { CaptureOptionsError, HostSetupError } from '../errors.js';
import { ip } from './command.js';
import { formatIpv4, parseIpv4Subnet, subnetsOverlap } from './ipv4.js';

/** Name prefixes Sluice uses on the machine; `cleanup()` finds leftovers by them. */
export const DefaultPrefixes = { bridge: 'slbr-', netns: 'sl-', veth: 'slv' } as const;

/** A mesh's bridge in the host namespace. Plain data; hosts attach to it. */
export interface MeshNetwork {
  /** Mesh name (1-10 lowercase letters or digits). */
  readonly name: string;
  /** Bridge device in the host namespace (`slbr-<mesh>` unless overridden). */
  readonly bridge: string;
  /** The subnet, e.g. `10.233.77.0/24`. */
  readonly subnet: string;
  readonly prefixLength: number;
  /** The bridge's own address (first address of the subnet), reachable from every host. */
  readonly gateway: string;
  /** Prefix of every namespace in this mesh (`sl-<mesh>-` unless overridden). */
  readonly netnsPrefix: string;
  /** Prefix of host-side veth devices (`slv` unless overridden). */
  readonly vethPrefix: string;
}

export interface MeshNetworkOptions {
  name: string;
  /** Default `10.233.77.0/24`. Prefix length /16 to /29. */
  subnet?: string;
  /** Override the bridge name (tests use their own prefix). At most 15 characters. */
  bridge?: string;
  /** Override the namespace prefix. */
  netnsPrefix?: string;
  /** Override the host-side veth prefix (at most 7 characters). */
  vethPrefix?: string;
}

const NAME = /^[a-z0-9]{1,10}$/;
const DEVICE = /^[A-Za-z0-9_.-]{1,15}$/;

/** Validates options and derives names and addresses, without touching the machine. */
export function describeMeshNetwork(options: MeshNetworkOptions): MeshNetwork {
  if (typeof options.name !== 'string' || !NAME.test(options.name)) {
    throw new CaptureOptionsError(
      'name',
      `must be 1-10 lowercase letters or digits, got ${JSON.stringify(options.name)}`,
    );
  }
  const subnet = parseIpv4Subnet(options.subnet ?? '10.233.77.0/24', 'subnet', 16, 29);
  const bridge = options.bridge ?? `${DefaultPrefixes.bridge}${options.name}`;
  if (!DEVICE.test(bridge)) throw new CaptureOptionsError('bridge', 'must be 1-15 letters, digits, "_", "." or "-"');
  const netnsPrefix = options.netnsPrefix ?? `${DefaultPrefixes.netns}${options.name}-`;
  if (!/^[a-z0-9-]{1,40}$/.test(netnsPrefix)) {
    throw new CaptureOptionsError('netnsPrefix', 'must be 1-40 lowercase letters, digits or "-"');
  }
  const vethPrefix = options.vethPrefix ?? DefaultPrefixes.veth;
  if (!/^[a-z]{1,7}$/.test(vethPrefix)) throw new CaptureOptionsError('vethPrefix', 'must be 1-7 lowercase letters');
  return Object.freeze({
    name: options.name,
    bridge,
    subnet: subnet.cidr,
    prefixLength: subnet.prefixLength,
    gateway: formatIpv4(subnet.network + 1),
    netnsPrefix,
    vethPrefix,
  });
}

/**
 * Creates the mesh bridge with the subnet's first address, up. Idempotent: an existing bridge of that
 * name gets the address if it lacks it. Refuses a subnet that overlaps a route of another device.
 */
export async function createMeshNetwork(options: MeshNetworkOptions): Promise<MeshNetwork> {
  const mesh = describeMeshNetwork(options);
  const subnet = parseIpv4Subnet(mesh.subnet, 'subnet');
  const routes = JSON.parse((await ip('-j', '-4', 'route', 'show')).stdout || '[]') as Array<{
    dst?: string;
    dev?: string;
  }>;
  for (const route of routes) {
    if (route.dev === mesh.bridge || !route.dst || route.dst === 'default') continue;
    const dst = route.dst.includes('/') ? route.dst : `${route.dst}/32`;
    let other: ReturnType<typeof parseIpv4Subnet>;
    try {
      other = parseIpv4Subnet(dst, 'route');
    } catch {
      continue;
    }
    if (subnetsOverlap(subnet, other)) {
      throw new CaptureOptionsError(
        'subnet',
        `${mesh.subnet} overlaps the route ${route.dst} on ${route.dev}; pick another subnet`,
      );
    }
  }
  const existing = await linkExists(mesh.bridge);
  try {
    if (!existing) await ip('link', 'add', 'name', mesh.bridge, 'type', 'bridge');
    await disableIpv6(mesh.bridge);
    await ip('addr', 'replace', `${mesh.gateway}/${mesh.prefixLength}`, 'dev', mesh.bridge);
    await ip('link', 'set', mesh.bridge, 'up');
  } catch (err) {
    if (!existing) await ip('link', 'del', mesh.bridge).catch(() => undefined);
    throw new HostSetupError(`creating mesh network ${mesh.name} (bridge ${mesh.bridge})`, err);
  }
  return mesh;
}

/** Removes the mesh bridge. Idempotent. Hosts attached to it should be destroyed first. */
export async function destroyMeshNetwork(mesh: Pick<MeshNetwork, 'bridge'>): Promise<void> {
  await ip('link', 'del', mesh.bridge).catch((err: Error & { stderr?: string }) => {
    if (!/Cannot find device|No such device|does not exist/.test(err.stderr ?? '')) throw err;
  });
}

export async function linkExists(device: string): Promise<boolean> {
  try {
    await ip('link', 'show', 'dev', device);
    return true;
  } catch (err) {
    if (/does not exist|Cannot find device/.test((err as { stderr?: string }).stderr ?? '')) return false;
    throw err;
  }
}

/** Host-namespace devices get no IPv6 address: the mesh is IPv4 only. */
export async function disableIpv6(device: string): Promise<void> {
  await writeFile(`/proc/sys/net/ipv6/conf/${device}/disable_ipv6`, '1').catch(() => undefined);
}
