/**
 * Checks a decoded resource against the subset of Envoy v3 that Sluice's proxy implements
 * (docs/xds-support.md). Every unsupported field or value is reported with its path; a response
 * with any finding is NACKed and changes nothing.
 */

import { isDuration } from './duration.js';
import { TypeUrl } from './type-urls.js';

export interface ResourceFinding {
  /** Resource name (or `#<index>` when it has none). */
  readonly resource: string;
  /** Field path inside the resource, e.g. `filter_chains[0].filters[0].typed_config.foo`. */
  readonly path: string;
  readonly message: string;
}

/** A field spec: `true` any scalar, a check function, a nested object spec, or `[spec]` for a list. */
type Check = (value: unknown) => string | undefined;
type Spec = true | Check | SpecObject | [Spec];
interface SpecObject {
  readonly [field: string]: Spec;
}

const oneOf =
  (...values: string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v) ? undefined : `must be one of ${values.join(', ')}`;
const duration: Check = (v) => (isDuration(v) ? undefined : 'must be a duration such as "10s"');
const anyJson: Check = () => undefined;
const stringList: [Spec] = [true];

const socketAddress: SpecObject = {
  socket_address: { address: true, port_value: true, protocol: oneOf('TCP') },
};
const accessLog: [Spec] = [
  {
    name: true,
    typed_config: typed({ [TypeUrl.StdoutAccessLog]: { log_format: anyJson } }),
  },
];

const tcpProxy: SpecObject = {
  stat_prefix: true,
  cluster: true,
  weighted_clusters: { clusters: [{ name: true, weight: true }] },
  idle_timeout: duration,
  max_downstream_connection_duration: duration,
  access_log: accessLog,
};

const httpFault: SpecObject = {
  delay: { fixed_delay: duration, percentage: { numerator: true, denominator: true } },
  abort: { http_status: true, percentage: { numerator: true, denominator: true } },
};

const httpConnectionManager: SpecObject = {
  stat_prefix: true,
  rds: { route_config_name: true, config_source: { ads: {}, resource_api_version: oneOf('V3') } },
  http_filters: [
    {
      name: oneOf('envoy.filters.http.fault', 'envoy.filters.http.router'),
      typed_config: typed({ [TypeUrl.HTTPFault]: httpFault, [TypeUrl.Router]: {} }),
    },
  ],
  access_log: accessLog,
};

const filterChain: SpecObject = {
  name: true,
  filter_chain_match: {
    prefix_ranges: [{ address_prefix: true, prefix_len: true }],
    destination_port: true,
    server_names: stringList,
    transport_protocol: oneOf('tls', 'raw_buffer'),
    application_protocols: stringList,
  },
  metadata: { filter_metadata: anyJson },
  filters: filtersCheck,
};

function filtersCheck(v: unknown): string | undefined {
  if (!Array.isArray(v) || v.length !== 1) return 'must hold exactly one network filter';
  return undefined;
}

const networkFilter: SpecObject = {
  name: oneOf('envoy.filters.network.tcp_proxy', 'envoy.filters.network.http_connection_manager'),
  typed_config: typed({ [TypeUrl.TcpProxy]: tcpProxy, [TypeUrl.HttpConnectionManager]: httpConnectionManager }),
};

const listenerSpec: SpecObject = {
  name: true,
  address: socketAddress,
  use_original_dst: true,
  bind_to_port: true,
  traffic_direction: oneOf('OUTBOUND', 'INBOUND', 'UNSPECIFIED'),
  filter_chains: [filterChain],
  default_filter_chain: filterChain,
  listener_filters: [
    {
      name: oneOf(
        'envoy.filters.listener.tls_inspector',
        'envoy.filters.listener.http_inspector',
        'envoy.filters.listener.original_dst',
      ),
    },
  ],
};

const lbEndpoints: [Spec] = [
  {
    endpoint: { address: socketAddress },
    load_balancing_weight: true,
    health_status: oneOf('UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED'),
  },
];
const loadAssignment: SpecObject = {
  cluster_name: true,
  endpoints: [{ lb_endpoints: lbEndpoints, locality: anyJson, load_balancing_weight: true }],
};

const clusterSpec: SpecObject = {
  name: true,
  type: oneOf('STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST'),
  eds_cluster_config: { eds_config: { ads: {}, resource_api_version: oneOf('V3') }, service_name: true },
  load_assignment: loadAssignment,
  connect_timeout: duration,
  lb_policy: oneOf('ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'CLUSTER_PROVIDED'),
  circuit_breakers: {
    thresholds: [{ max_connections: true, max_pending_requests: true, max_requests: true, max_retries: true }],
  },
  upstream_connection_options: {
    tcp_keepalive: { keepalive_probes: true, keepalive_time: true, keepalive_interval: true },
  },
  common_http_protocol_options: { idle_timeout: duration, max_connection_duration: duration },
  metadata: { filter_metadata: anyJson },
  dns_refresh_rate: duration,
};

const stringMatch: SpecObject = { exact: true, prefix: true, safe_regex: { regex: true } };
const headerValueOptions: [Spec] = [{ header: { key: true, value: true }, append_action: true }];
const weighted: SpecObject = { clusters: [{ name: true, weight: true }] };

const routeSpec: SpecObject = {
  name: true,
  validate_clusters: true,
  virtual_hosts: [
    {
      name: true,
      domains: stringList,
      routes: [
        {
          name: true,
          metadata: { filter_metadata: anyJson },
          match: {
            prefix: true,
            path: true,
            safe_regex: { regex: true },
            case_sensitive: true,
            headers: [{ name: true, string_match: stringMatch, invert_match: true }],
            query_parameters: [{ name: true, string_match: stringMatch }],
          },
          route: {
            cluster: true,
            weighted_clusters: weighted,
            timeout: duration,
            retry_policy: { retry_on: true, num_retries: true, per_try_timeout: duration },
            prefix_rewrite: true,
            host_rewrite_literal: true,
          },
          direct_response: { status: true, body: { inline_string: true } },
          request_headers_to_add: headerValueOptions,
          request_headers_to_remove: stringList,
          response_headers_to_add: headerValueOptions,
          response_headers_to_remove: stringList,
          typed_per_filter_config: perFilterConfig,
        },
      ],
    },
  ],
};

function perFilterConfig(v: unknown): string | undefined {
  if (!v || typeof v !== 'object') return 'must be a map of filter name to config';
  for (const [k, cfg] of Object.entries(v as Record<string, unknown>)) {
    if (k !== 'envoy.filters.http.fault') return `filter "${k}" is not supported (only envoy.filters.http.fault)`;
    const found: ResourceFinding[] = [];
    walk(typed({ [TypeUrl.HTTPFault]: httpFault }), cfg, '', '', found);
    if (found[0]) return `["${k}"]${found[0].path}: ${found[0].message}`;
  }
  return undefined;
}

const edsSpec: SpecObject = loadAssignment;

const nameTableSpec: SpecObject = { table: anyJson };

/** A typed_config Any: `@type` must be one of the given URLs, then its own spec applies. */
function typed(specs: Record<string, SpecObject>): Check & { typedSpecs: Record<string, SpecObject> } {
  const check = ((v: unknown) => {
    if (!v || typeof v !== 'object') return 'must be a typed_config object';
    const url = (v as Record<string, unknown>)['@type'];
    if (typeof url !== 'string' || !specs[url]) {
      return `type ${String(url)} is not supported (supported: ${Object.keys(specs).join(', ')})`;
    }
    return undefined;
  }) as Check & { typedSpecs: Record<string, SpecObject> };
  check.typedSpecs = specs;
  return check;
}

function walk(spec: Spec, value: unknown, resource: string, path: string, out: ResourceFinding[]): void {
  if (spec === true) {
    if (value !== null && typeof value === 'object') out.push({ resource, path, message: 'must be a scalar' });
    return;
  }
  if (typeof spec === 'function') {
    const problem = spec(value);
    if (problem) {
      out.push({ resource, path, message: problem });
      return;
    }
    const typedSpecs = (spec as { typedSpecs?: Record<string, SpecObject> }).typedSpecs;
    if (typedSpecs) {
      const { '@type': url, ...rest } = value as Record<string, unknown>;
      walk(typedSpecs[url as string]!, rest, resource, path, out);
    }
    return;
  }
  if (Array.isArray(spec)) {
    if (!Array.isArray(value)) {
      out.push({ resource, path, message: 'must be a list' });
      return;
    }
    value.forEach((item, i) => {
      walk(spec[0], item, resource, `${path}[${i}]`, out);
    });
    return;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    out.push({ resource, path, message: 'must be an object' });
    return;
  }
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const sub = spec[key];
    const at = path ? `${path}.${key}` : key;
    if (sub === undefined) {
      out.push({ resource, path: at, message: 'is not supported by the Sluice proxy (see docs/xds-support.md)' });
      continue;
    }
    walk(sub, v, resource, at, out);
    if (key === 'filters' && Array.isArray(v)) {
      v.forEach((f, i) => {
        walk(networkFilter, f, resource, `${at}[${i}]`, out);
      });
    }
  }
}

const specsByType: Record<string, SpecObject> = {
  [TypeUrl.Listener]: listenerSpec,
  [TypeUrl.Cluster]: clusterSpec,
  [TypeUrl.RouteConfiguration]: routeSpec,
  [TypeUrl.ClusterLoadAssignment]: edsSpec,
  [TypeUrl.NameTable]: nameTableSpec,
};

/** The field names each type's resources are keyed by. */
export function resourceName(typeUrl: string, resource: Record<string, unknown>): string {
  const key = typeUrl === TypeUrl.ClusterLoadAssignment ? 'cluster_name' : 'name';
  return typeof resource[key] === 'string' ? (resource[key] as string) : '';
}

/** Every finding for one resource of the given type (empty when supported). */
export function validateResource(typeUrl: string, resource: Record<string, unknown>, index: number): ResourceFinding[] {
  const spec = specsByType[typeUrl];
  const name = resourceName(typeUrl, resource) || `#${index}`;
  if (!spec) return [{ resource: name, path: '', message: `type ${typeUrl} is not supported` }];
  const out: ResourceFinding[] = [];
  if (typeUrl !== TypeUrl.NameTable && !resourceName(typeUrl, resource)) {
    out.push({
      resource: name,
      path: typeUrl === TypeUrl.ClusterLoadAssignment ? 'cluster_name' : 'name',
      message: 'is required',
    });
  }
  walk(spec, resource, name, '', out);
  if (typeUrl === TypeUrl.Cluster) {
    const c = resource as { type?: string; eds_cluster_config?: unknown; load_assignment?: unknown };
    // A STATIC cluster may have no endpoints (Istio's BlackHoleCluster); DNS clusters need their hosts.
    if ((c.type === 'STRICT_DNS' || c.type === 'LOGICAL_DNS') && !c.load_assignment) {
      out.push({ resource: name, path: 'load_assignment', message: `is required for type ${c.type}` });
    }
  }
  return out;
}

/** The error_detail message of a NACK: every finding as `<type> "<name>": <path>: <message>`. */
export function formatFindings(
  typeUrl: string,
  findings: readonly { resource: string; path: string; message: string }[],
): string {
  const type = typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
  return findings.map((f) => `${type} "${f.resource}": ${f.path || '(resource)'}: ${f.message}`).join('; ');
}
