/**
 * `sluice proxy-config listeners|clusters|routes|endpoints POD`: what the control plane sent to one
 * proxy, as a table or JSON — like `istioctl proxy-config`. Reads `/debug/config_dump?proxyID=`.
 * POD is the pod name, `pod.namespace`, or the proxy's node id.
 */
import { type Command, Option } from 'commander';
import { DebugApiError, fetchStatuses, getDebugJson, kubeconfigPath } from './proxy-status.js';

// biome-ignore lint/suspicious/noExplicitAny: Envoy config dump JSON of arbitrary shape
type Json = any;

const SECTIONS = {
  clusters: { dump: 'ClustersConfigDump', list: 'dynamic_active_clusters', item: (e: Json) => e.cluster },
  listeners: { dump: 'ListenersConfigDump', list: 'dynamic_listeners', item: (e: Json) => e.active_state?.listener },
  routes: { dump: 'RoutesConfigDump', list: 'dynamic_route_configs', item: (e: Json) => e.route_config },
  endpoints: { dump: 'EndpointsConfigDump', list: 'dynamic_endpoint_configs', item: (e: Json) => e.endpoint_config },
} as const;
type Section = keyof typeof SECTIONS;

/** The proxy id for what the user typed: id, pod name, or pod.namespace. */
export async function resolveProxy(kubeconfig: string, pod: string): Promise<string> {
  const statuses = await fetchStatuses(kubeconfig);
  const found =
    statuses.find((s) => s.id === pod) ??
    statuses.find((s) => `${s.podName}.${s.namespace}` === pod) ??
    statuses.find((s) => s.podName === pod);
  if (!found) {
    const known = statuses.map((s) => `${s.podName}.${s.namespace}`).join(', ') || 'none';
    throw new DebugApiError(`no connected proxy "${pod}" (connected: ${known}); see sluice proxy-status`);
  }
  return found.id;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  return `${[header, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 2))).join('')).join('\n')}\n`;
}

function destination(filters: Json[] | undefined): string {
  const tc = filters?.[0]?.typed_config ?? {};
  if (tc.rds) return `Route: ${tc.rds.route_config_name}`;
  if (tc.cluster) return `Cluster: ${tc.cluster}`;
  if (tc.weighted_clusters)
    return `Weighted: ${tc.weighted_clusters.clusters.map((c: Json) => `${c.name}=${c.weight}`).join(', ')}`;
  return '-';
}

function chainMatch(m: Json | undefined): string {
  if (!m) return 'ALL';
  const parts: string[] = [];
  if (m.prefix_ranges) parts.push(m.prefix_ranges.map((p: Json) => `${p.address_prefix}/${p.prefix_len}`).join(','));
  if (m.server_names) parts.push(`SNI: ${m.server_names.join(',')}`);
  if (m.destination_port) parts.push(`port ${m.destination_port}`);
  return parts.join(' ') || 'ALL';
}

export function formatSection(section: Section, items: Json[]): string {
  switch (section) {
    case 'listeners': {
      const rows: string[][] = [];
      for (const l of items) {
        const addr = `${l.address?.socket_address?.address}:${l.address?.socket_address?.port_value}`;
        for (const c of l.filter_chains ?? [])
          rows.push([l.name, addr, chainMatch(c.filter_chain_match), destination(c.filters)]);
        if (l.default_filter_chain) rows.push([l.name, addr, 'default', destination(l.default_filter_chain.filters)]);
      }
      return table(['NAME', 'ADDRESS', 'MATCH', 'DESTINATION'], rows);
    }
    case 'clusters':
      return table(
        ['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'DESTINATION RULE'],
        items.map((c) => {
          const [dir, port, subset, host] = String(c.name).split('|');
          const dr = c.metadata?.filter_metadata?.istio?.config ?? '';
          return host === undefined
            ? [c.name, '-', '-', '-', c.type ?? '-', '']
            : [
                host || '-',
                port ?? '-',
                subset || '-',
                dir ?? '-',
                c.type ?? '-',
                String(dr).split('/').slice(-3).join('/'),
              ];
        }),
      );
    case 'routes': {
      const rows: string[][] = [];
      for (const rc of items) {
        for (const vh of rc.virtual_hosts ?? []) {
          for (const r of vh.routes ?? []) {
            const m = r.match ?? {};
            const match = m.path ?? m.prefix ?? m.safe_regex?.regex ?? '/';
            const to = r.direct_response ? `${r.direct_response.status}` : destination([{ typed_config: r.route }]);
            rows.push([
              rc.name,
              vh.name,
              (vh.domains ?? []).slice(0, 2).join(', '),
              match + (m.headers ? ' (headers)' : ''),
              to,
            ]);
          }
        }
      }
      return table(['NAME', 'VIRTUAL HOST', 'DOMAINS', 'MATCH', 'DESTINATION'], rows);
    }
    case 'endpoints': {
      const rows: string[][] = [];
      for (const cla of items) {
        for (const group of cla.endpoints ?? []) {
          for (const e of group.lb_endpoints ?? []) {
            const sa = e.endpoint?.address?.socket_address ?? {};
            rows.push([`${sa.address}:${sa.port_value}`, e.health_status ?? 'UNKNOWN', cla.cluster_name]);
          }
        }
      }
      return table(['ENDPOINT', 'STATUS', 'CLUSTER'], rows);
    }
  }
}

export function register(program: Command): void {
  program
    .command('proxy-config')
    .description('show the listeners, clusters, routes or endpoints the control plane sent to a proxy')
    .argument('<type>', 'listeners | clusters | routes | endpoints')
    .argument('<pod>', 'pod name, pod.namespace, or the proxy node id')
    .option('--kubeconfig <file>', 'kubeconfig naming the control plane (default: $KUBECONFIG or ~/.kube/config)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .addHelpText(
      'after',
      `
Examples:
  sluice proxy-config listeners ratings-v2-mysql-0.default
  sluice proxy-config clusters ratings-v2-mysql-0 -o json`,
    )
    .action(async (type: string, pod: string, opts: { kubeconfig?: string; output: 'table' | 'json' }) => {
      if (!(type in SECTIONS)) {
        throw new DebugApiError(`unknown type "${type}": use one of ${Object.keys(SECTIONS).join(', ')}`);
      }
      const section = SECTIONS[type as Section];
      const kubeconfig = kubeconfigPath(opts.kubeconfig);
      const id = await resolveProxy(kubeconfig, pod);
      const dump = (await getDebugJson(kubeconfig, `/debug/config_dump?proxyID=${encodeURIComponent(id)}`)) as Json;
      const part = (dump?.configs ?? []).find((c: Json) => String(c['@type']).endsWith(`.${section.dump}`));
      const items = (part?.[section.list] ?? []).map(section.item).filter(Boolean);
      if (opts.output === 'json') process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
      else process.stdout.write(formatSection(type as Section, items));
    });
}
