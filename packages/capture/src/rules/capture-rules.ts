import { CaptureOptionsError } from '../errors.js';

/** What to capture in a workload namespace. All ports are TCP ports unless said otherwise. */
export interface CaptureOptions {
  /** uid of the sidecar; its own traffic is never captured (Istio: 1337). */
  proxyUid: number;
  /** Port of the sidecar's outbound capture listener (Istio: 15001). */
  outboundPort: number;
  /** Port of the sidecar's inbound capture listener (Istio: 15006). */
  inboundPort: number;
  /** Port of the sidecar's DNS answerer, UDP and TCP (Istio: 15053). */
  dnsPort: number;
  /** Ports the workload serves on `eth0`; TCP arriving there for them goes to `inboundPort`. */
  inboundPorts: readonly number[];
  /** Outbound destination ports left alone (connections go straight out, uncaptured). */
  excludeOutboundPorts?: readonly number[];
  /** Declared inbound ports that are nevertheless not captured. */
  excludeInboundPorts?: readonly number[];
  /**
   * Loopback TCP ports of the sidecar that only `proxyUid` may connect to (its admin port, Istio
   * 15000): a connection to them from any other uid is refused with a TCP reset. Not the capture or
   * DNS ports, which the workload reaches through the redirects.
   */
  sidecarOnlyPorts?: readonly number[];
  /** Name of the namespace's external interface (default `eth0`). */
  interfaceName?: string;
  /**
   * The namespace's discard interface (`sink0`, holder of the default route). When given, a filter-table
   * chain `SLUICE_SINK` refuses at once what would be routed there and was not redirected (TCP reset,
   * ICMP unreachable for the rest), so an uncaptured connection to an unrouted address fails fast
   * instead of timing out.
   */
  sinkInterface?: string;
}

/** `iptables-restore` / `ip6tables-restore` input for the nat and filter tables, one transaction each. */
export interface CaptureRuleText {
  ipv4: string;
  ipv6: string;
}

/** Chains Sluice owns inside a workload namespace (like istio-init's `ISTIO_*` chains). */
export const CaptureChain = {
  output: 'SLUICE_OUTPUT',
  redirect: 'SLUICE_REDIRECT',
  inbound: 'SLUICE_INBOUND',
  inboundRedirect: 'SLUICE_IN_REDIRECT',
  loopback: 'SLUICE_LOOPBACK',
  egress: 'SLUICE_EGRESS',
  sink: 'SLUICE_SINK',
} as const;

const FAMILY = {
  ipv4: { loopback: '127.0.0.0/8', unreachable: 'icmp-port-unreachable' },
  ipv6: { loopback: '::1/128', unreachable: 'icmp6-port-unreachable' },
} as const;

/**
 * Builds the nat-table rules that capture a workload's traffic, in `iptables-save` form.
 *
 * Order inside `SLUICE_OUTPUT` (first match wins):
 *  1. the sidecar's own traffic (uid `proxyUid`) is left alone;
 *  2. DNS, UDP and TCP to port 53 → `dnsPort`;
 *  3. TCP to an excluded outbound port is left alone;
 *  4. anything to a loopback address is left alone;
 *  5. all other TCP → `outboundPort`.
 * `SLUICE_INBOUND` sends TCP arriving on the external interface for a declared, not excluded port to
 * `inboundPort`.
 *
 * The filter table then keeps everything else in: `SLUICE_LOOPBACK` refuses new TCP connections from
 * uids other than `proxyUid` to `sidecarOnlyPorts` on `lo`; `SLUICE_EGRESS` refuses whatever would
 * leave through an interface other than `lo` unless it is the sidecar's, redirected by the nat table
 * (the filter hook still sees the output device chosen before the redirect), a reply or error that
 * belongs to a flow a peer started, or TCP to an excluded outbound port. UDP other than DNS, ICMP
 * (ping sockets), SCTP and any other protocol of the workload therefore never leave. With
 * `sinkInterface`, `SLUICE_SINK` comes first (see the option).
 * The text is pure data: applying it is the caller's job.
 */
export function captureRules(options: CaptureOptions): CaptureRuleText {
  const o = validateCaptureOptions(options);
  return {
    ipv4: natTable(o, FAMILY.ipv4.loopback) + filterTable(o, FAMILY.ipv4.unreachable),
    ipv6: natTable(o, FAMILY.ipv6.loopback) + filterTable(o, FAMILY.ipv6.unreachable),
  };
}

interface CheckedOptions {
  proxyUid: number;
  outboundPort: number;
  inboundPort: number;
  dnsPort: number;
  inboundPorts: number[];
  excludeOutboundPorts: number[];
  sidecarOnlyPorts: number[];
  interfaceName: string;
  sinkInterface: string | undefined;
}

function filterTable(o: CheckedOptions, unreachable: string): string {
  const c = CaptureChain;
  const lines = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    `:${c.loopback} - [0:0]`,
    `:${c.egress} - [0:0]`,
  ];
  if (o.sinkInterface !== undefined) lines.push(`:${c.sink} - [0:0]`);
  lines.push(`-A OUTPUT -o lo -j ${c.loopback}`);
  if (o.sinkInterface !== undefined) lines.push(`-A OUTPUT -o ${o.sinkInterface} -j ${c.sink}`);
  lines.push(`-A OUTPUT ! -o lo -j ${c.egress}`);
  for (const port of o.sidecarOnlyPorts) {
    lines.push(
      `-A ${c.loopback} -p tcp -m tcp --dport ${port} -m conntrack --ctstate NEW -m owner ! --uid-owner ${o.proxyUid} -j REJECT --reject-with tcp-reset`,
    );
  }
  lines.push(`-A ${c.egress} -m owner --uid-owner ${o.proxyUid} -j RETURN`);
  // redirected (captured) traffic, and replies and errors of flows a peer started (packets the
  // kernel sends without a socket of their own, such as a reset for a closed port, are among them)
  lines.push(`-A ${c.egress} -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j RETURN`);
  for (const port of o.excludeOutboundPorts) lines.push(`-A ${c.egress} -p tcp -m tcp --dport ${port} -j RETURN`);
  lines.push(`-A ${c.egress} -p tcp -j REJECT --reject-with tcp-reset`);
  lines.push(`-A ${c.egress} -j REJECT --reject-with ${unreachable}`);
  if (o.sinkInterface !== undefined) {
    // the filter hook still sees the pre-NAT output device: let redirected (captured) traffic through
    lines.push(`-A ${c.sink} -m conntrack --ctstate DNAT -j RETURN`);
    lines.push(`-A ${c.sink} -p tcp -j REJECT --reject-with tcp-reset`);
    lines.push(`-A ${c.sink} -j REJECT --reject-with ${unreachable}`);
  }
  lines.push('COMMIT', '');
  return lines.join('\n');
}

function natTable(o: CheckedOptions, loopback: string): string {
  const c = CaptureChain;
  const lines = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    `:${c.inbound} - [0:0]`,
    `:${c.inboundRedirect} - [0:0]`,
    `:${c.output} - [0:0]`,
    `:${c.redirect} - [0:0]`,
    `-A PREROUTING -p tcp -j ${c.inbound}`,
    `-A OUTPUT -p tcp -j ${c.output}`,
    `-A OUTPUT -p udp -j ${c.output}`,
  ];
  for (const port of o.inboundPorts) {
    lines.push(`-A ${c.inbound} -i ${o.interfaceName} -p tcp -m tcp --dport ${port} -j ${c.inboundRedirect}`);
  }
  lines.push(`-A ${c.inboundRedirect} -p tcp -j REDIRECT --to-ports ${o.inboundPort}`);
  lines.push(`-A ${c.output} -m owner --uid-owner ${o.proxyUid} -j RETURN`);
  lines.push(`-A ${c.output} -p udp -m udp --dport 53 -j REDIRECT --to-ports ${o.dnsPort}`);
  lines.push(`-A ${c.output} -p tcp -m tcp --dport 53 -j REDIRECT --to-ports ${o.dnsPort}`);
  lines.push(`-A ${c.output} -p udp -j RETURN`);
  for (const port of o.excludeOutboundPorts) {
    lines.push(`-A ${c.output} -p tcp -m tcp --dport ${port} -j RETURN`);
  }
  lines.push(`-A ${c.output} -d ${loopback} -j RETURN`);
  lines.push(`-A ${c.output} -p tcp -j ${c.redirect}`);
  lines.push(`-A ${c.redirect} -p tcp -j REDIRECT --to-ports ${o.outboundPort}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

function validateCaptureOptions(options: CaptureOptions): CheckedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new CaptureOptionsError('options', 'must be an object');
  }
  checkUid('proxyUid', options.proxyUid);
  const own = new Map<number, string>();
  for (const field of ['outboundPort', 'inboundPort', 'dnsPort'] as const) {
    checkPort(field, options[field]);
    const clash = own.get(options[field]);
    if (clash !== undefined) {
      throw new CaptureOptionsError(field, `port ${options[field]} is already used by ${clash}; each needs its own`);
    }
    own.set(options[field], field);
  }
  const inboundPorts = checkPortList('inboundPorts', options.inboundPorts, true);
  inboundPorts.forEach((port, i) => {
    const clash = own.get(port);
    if (clash !== undefined) {
      throw new CaptureOptionsError(
        `inboundPorts[${i}]`,
        `port ${port} is the sidecar's ${clash}; a workload cannot serve it`,
      );
    }
  });
  const excludeIn = new Set(checkPortList('excludeInboundPorts', options.excludeInboundPorts ?? [], false));
  const excludeOut = checkPortList('excludeOutboundPorts', options.excludeOutboundPorts ?? [], false);
  const sidecarOnly = checkPortList('sidecarOnlyPorts', options.sidecarOnlyPorts ?? [], false);
  sidecarOnly.forEach((port, i) => {
    const clash = own.get(port);
    if (clash !== undefined) {
      throw new CaptureOptionsError(
        `sidecarOnlyPorts[${i}]`,
        `port ${port} is the sidecar's ${clash}, which the workload reaches through a redirect; it cannot be sidecar-only`,
      );
    }
  });
  const interfaceName = checkDevice('interfaceName', options.interfaceName ?? 'eth0');
  const sinkInterface =
    options.sinkInterface === undefined ? undefined : checkDevice('sinkInterface', options.sinkInterface);
  return {
    proxyUid: options.proxyUid,
    outboundPort: options.outboundPort,
    inboundPort: options.inboundPort,
    dnsPort: options.dnsPort,
    inboundPorts: inboundPorts.filter((p) => !excludeIn.has(p)),
    excludeOutboundPorts: excludeOut,
    sidecarOnlyPorts: sidecarOnly,
    interfaceName,
    sinkInterface,
  };
}

function checkDevice(path: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.-]{1,15}$/.test(value)) {
    throw new CaptureOptionsError(path, 'must be a device name of 1-15 letters, digits, "_", "." or "-"');
  }
  return value;
}

function checkUid(path: string, value: unknown): void {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 0xfffffffe) {
    throw new CaptureOptionsError(path, `must be an integer uid (0-4294967294), got ${JSON.stringify(value)}`);
  }
}

function checkPort(path: string, value: unknown): void {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 65535) {
    throw new CaptureOptionsError(path, `must be an integer port 1-65535, got ${JSON.stringify(value)}`);
  }
}

function checkPortList(path: string, value: unknown, required: boolean): number[] {
  if (!Array.isArray(value)) {
    throw new CaptureOptionsError(
      path,
      required ? 'is required: a list of ports (may be empty)' : 'must be a list of ports',
    );
  }
  const seen = new Set<number>();
  value.forEach((port, i) => {
    checkPort(`${path}[${i}]`, port);
    if (seen.has(port)) throw new CaptureOptionsError(`${path}[${i}]`, `port ${port} is listed twice`);
    seen.add(port);
  });
  return [...value] as number[];
}
