import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { CaptureOptionsError, HostSetupError } from '../errors.js';
import { type CaptureOptions, type CaptureRuleText, captureRules } from '../rules/capture-rules.js';
import { inNetns, ip } from './command.js';
import { type ExecOptions, execInNetns } from './exec-in-netns.js';
import type { MeshNetwork } from './mesh-network.js';
import { checkHostAddress, createJoinedNetns, hostNames, removeNetnsHost } from './netns-host.js';

/**
 * Istio's sidecar identity and ports; the defaults of every workload host. Only the sidecar may
 * connect to its admin port (15000) on loopback; metrics (15090) and health (15021) stay readable.
 */
export const IstioCaptureDefaults = {
  proxyUid: 1337,
  outboundPort: 15001,
  inboundPort: 15006,
  dnsPort: 15053,
  sidecarOnlyPorts: [15000],
} as const;

/** The discard interface holding a workload namespace's default route. */
export const SINK_INTERFACE = 'sink0';

export interface WorkloadHostOptions {
  mesh: MeshNetwork;
  /** Host (pod) name: the namespace is `<mesh.netnsPrefix><name>`. */
  name: string;
  /** Address in the mesh subnet. */
  ip: string;
  /** TCP ports the workload serves; captured to the inbound port. */
  inboundPorts: readonly number[];
  /** Overrides of the Istio defaults (uid 1337, 15001, 15006, 15053, sidecar-only 15000) and port exclusions. */
  capture?: Partial<Omit<CaptureOptions, 'inboundPorts' | 'interfaceName' | 'sinkInterface'>>;
  /** Kubernetes namespace of the workload, for the resolv.conf search list (default `default`). */
  namespace?: string;
  /** Cluster DNS domain (default `cluster.local`). */
  clusterDomain?: string;
}

/**
 * Adds the discard device: a `dummy` where the kernel has that driver, otherwise an `ifb` (also a
 * NOARP device that drops what it is given to transmit; some kernels, such as Firecracker guests,
 * build in `ifb` but not `dummy`).
 */
async function addSinkDevice(netns: string): Promise<void> {
  try {
    await ip('-n', netns, 'link', 'add', SINK_INTERFACE, 'type', 'dummy');
  } catch (err) {
    if (!/Unknown device type/.test((err as { stderr?: string }).stderr ?? '')) throw err;
    await ip('-n', netns, 'link', 'add', SINK_INTERFACE, 'type', 'ifb');
  }
}

/** Common shape of a host in a network namespace. `destroy()` is idempotent. */
export interface NetnsHost {
  readonly name: string;
  readonly netns: string;
  readonly ip: string;
  readonly mesh: MeshNetwork;
  /** Host-side veth device. */
  readonly vethHost: string;
  /** Starts a process in the namespace (default uid/gid 1000; see `ExecOptions`). */
  exec(argv: readonly string[], options?: ExecOptions): ChildProcess;
  /** Kills processes left in the namespace and removes namespace, veth and `/etc/netns/<netns>`. */
  destroy(): Promise<void>;
}

/** A mesh workload's host: traffic captured for the sidecar. */
export interface WorkloadHost extends NetnsHost {
  readonly kind: 'workload';
  /** The rules applied in the namespace (as given to iptables-restore / ip6tables-restore). */
  readonly rules: CaptureRuleText;
  /** Path of the resolv.conf that `exec` shows the workload. */
  readonly resolvConf: string;
}

/**
 * Creates a workload host: namespace, veth into the mesh bridge, `lo` up, `eth0` address and connected
 * route, `default dev sink0` (a dummy device: every destination is routable, nothing leaves), IPv6
 * only on `lo`, no unprivileged ping sockets, `/etc/netns/<netns>/resolv.conf`, and the capture rules
 * (nat and filter tables) restored in one transaction per address family inside the namespace. On
 * failure everything made so far is removed again.
 */
export async function createWorkloadHost(options: WorkloadHostOptions): Promise<WorkloadHost> {
  const { mesh } = options;
  const names = hostNames(mesh, options.name);
  const address = checkHostAddress(mesh, options.ip);
  const namespace = options.namespace ?? 'default';
  const clusterDomain = options.clusterDomain ?? 'cluster.local';
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(namespace)) {
    throw new CaptureOptionsError('namespace', 'must be a DNS-1123 label (Kubernetes namespace name)');
  }
  if (!/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/.test(clusterDomain)) {
    throw new CaptureOptionsError('clusterDomain', 'must be a DNS name like cluster.local');
  }
  const rules = captureRules({
    ...IstioCaptureDefaults,
    ...options.capture,
    inboundPorts: options.inboundPorts,
    interfaceName: 'eth0',
    sinkInterface: SINK_INTERFACE,
  });
  const resolvConf = `/etc/netns/${names.netns}/resolv.conf`;
  try {
    // removes what it made itself on failure, and never a namespace that already existed
    await createJoinedNetns(mesh, names, address);
  } catch (err) {
    throw new HostSetupError(`creating workload host ${names.netns} (${address})`, err);
  }
  try {
    await addSinkDevice(names.netns);
    await ip('-n', names.netns, 'link', 'set', SINK_INTERFACE, 'up');
    await ip('-n', names.netns, 'route', 'add', 'default', 'dev', SINK_INTERFACE);
    // no unprivileged ICMP echo sockets (the kernel's default for a new namespace, made explicit);
    // the filter table refuses the workload's ICMP in any case
    await inNetns(names.netns, 'sysctl', ['-q', '-w', 'net.ipv4.ping_group_range=1 0']);
    await mkdir(`/etc/netns/${names.netns}`, { recursive: true });
    await writeFile(
      resolvConf,
      [
        `# Sluice workload ${options.name}: port 53 is answered by the sidecar's DNS answerer`,
        `nameserver ${mesh.gateway}`,
        `search ${namespace}.svc.${clusterDomain} svc.${clusterDomain} ${clusterDomain}`,
        'options ndots:5',
        '',
      ].join('\n'),
    );
    await inNetns(names.netns, 'iptables-restore', [], rules.ipv4);
    await inNetns(names.netns, 'ip6tables-restore', [], rules.ipv6);
  } catch (err) {
    await removeNetnsHost(names).catch(() => undefined);
    throw new HostSetupError(`creating workload host ${names.netns} (${address})`, err);
  }
  let destroyed: Promise<void> | undefined;
  return Object.freeze({
    kind: 'workload' as const,
    name: options.name,
    netns: names.netns,
    ip: address,
    mesh,
    vethHost: names.vethHost,
    rules,
    resolvConf,
    exec: (argv: readonly string[], execOptions?: ExecOptions) => execInNetns(names.netns, argv, execOptions),
    destroy: () => {
      destroyed ??= removeNetnsHost(names).then(() => undefined);
      return destroyed;
    },
  });
}
