/**
 * RouteConfigurations, one per HTTP port (named by the port), as istiod builds them: a virtual
 * host per service with Istio's domain variants, VirtualService http rules as routes, a default
 * route to the service, and the catch-all virtual host (`allow_any` → PassthroughCluster, or
 * `block_all` → 502). Pure.
 */
import type { HeaderOperations, HTTPMatchRequest, HTTPRoute, StringMatch } from '@sluice/config';
import { TypeUrl } from '@sluice/xds';
import { hostAddress } from './address.js';
import { outboundClusterName, PASSTHROUGH_CLUSTER } from './clusters.js';
import { clusterChoice } from './destinations.js';
import { protoDuration } from './duration.js';
import { SLUICE_METADATA } from './listeners.js';
import { CLUSTER_DOMAIN, type MeshService } from './mesh-services.js';
import { type ProxyScope, virtualServiceFor } from './proxy-scope.js';
import type { EnvoyObject, NamedEnvoyResource } from './types.js';

/** Istio's domain variants of a service host, for a proxy in `proxyNamespace`. */
export function domainsFor(svc: MeshService, port: number, proxyNamespace: string): string[] {
  const names = [svc.hostname];
  const suffix = `.${CLUSTER_DOMAIN}`;
  if (svc.kind === 'Service' && svc.hostname.endsWith(suffix)) {
    const base = svc.hostname.slice(0, -suffix.length); // name.ns
    names.push(`${base}.svc`, base);
    if (svc.namespace === proxyNamespace) names.push(svc.name);
  }
  for (const a of svc.addresses) {
    const ip = hostAddress(a);
    if (ip) names.push(ip);
  }
  return names.flatMap((n) => [n, `${n}:${port}`]);
}

function stringMatch(m: StringMatch, ignoreCase = false): EnvoyObject {
  const out: EnvoyObject = {};
  if (m.exact !== undefined) out.exact = m.exact;
  else if (m.prefix !== undefined) out.prefix = m.prefix;
  else if (m.regex !== undefined) out.safe_regex = { regex: m.regex };
  if (ignoreCase) out.ignore_case = true;
  return out;
}

function routeMatch(m: HTTPMatchRequest | undefined): EnvoyObject {
  const match: EnvoyObject = {};
  const uri = m?.uri;
  if (uri?.exact !== undefined) match.path = uri.exact;
  else if (uri?.regex !== undefined) match.safe_regex = { regex: uri.regex };
  else match.prefix = uri?.prefix ?? '/';
  if (m?.ignoreUriCase) match.case_sensitive = false;
  const headers: EnvoyObject[] = [];
  for (const [name, sm] of Object.entries(m?.headers ?? {})) headers.push({ name, string_match: stringMatch(sm) });
  for (const [name, sm] of Object.entries(m?.withoutHeaders ?? {})) {
    headers.push({ name, string_match: stringMatch(sm), invert_match: true });
  }
  if (m?.method) headers.push({ name: ':method', string_match: stringMatch(m.method) });
  if (m?.authority) headers.push({ name: ':authority', string_match: stringMatch(m.authority) });
  if (m?.scheme) headers.push({ name: ':scheme', string_match: stringMatch(m.scheme) });
  if (headers.length > 0) match.headers = headers;
  const qp = Object.entries(m?.queryParams ?? {}).map(([name, sm]) => ({ name, string_match: stringMatch(sm) }));
  if (qp.length > 0) match.query_parameters = qp;
  return match;
}

function headerOps(target: EnvoyObject, ops: { request?: HeaderOperations; response?: HeaderOperations } | undefined) {
  const add = (key: 'request' | 'response', o: HeaderOperations | undefined) => {
    if (!o) return;
    const list: EnvoyObject[] = [];
    for (const [k, v] of Object.entries(o.set ?? {})) {
      list.push({ header: { key: k, value: v }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' });
    }
    for (const [k, v] of Object.entries(o.add ?? {})) {
      list.push({ header: { key: k, value: v }, append_action: 'APPEND_IF_EXISTS_OR_ADD' });
    }
    if (list.length > 0) target[`${key}_headers_to_add`] = list;
    if (o.remove && o.remove.length > 0) target[`${key}_headers_to_remove`] = [...o.remove];
  };
  add('request', ops?.request);
  add('response', ops?.response);
}

function percentage(value: number | undefined, percent: number | undefined): EnvoyObject {
  if (value !== undefined) return { numerator: Math.round(value * 10000), denominator: 'MILLION' };
  if (percent !== undefined) return { numerator: percent, denominator: 'HUNDRED' };
  return { numerator: 100, denominator: 'HUNDRED' };
}

function faultConfig(fault: NonNullable<HTTPRoute['fault']>, where: string): EnvoyObject {
  const cfg: EnvoyObject = { '@type': TypeUrl.HTTPFault };
  if (fault.delay?.fixedDelay) {
    cfg.delay = {
      fixed_delay: protoDuration(fault.delay.fixedDelay, `${where}.fault.delay.fixedDelay`),
      percentage: percentage(fault.delay.percentage?.value, fault.delay.percent),
    };
  }
  if (fault.abort?.httpStatus) {
    cfg.abort = {
      http_status: fault.abort.httpStatus,
      percentage: percentage(fault.abort.percentage?.value, undefined),
    };
  }
  return cfg;
}

function sourceMatches(m: HTTPMatchRequest, scope: ProxyScope, port: number): boolean {
  if (m.port && m.port !== port) return false;
  if (m.sourceNamespace && m.sourceNamespace !== scope.namespace) return false;
  if (m.gateways && m.gateways.length > 0 && !m.gateways.includes('mesh')) return false;
  return !m.sourceLabels || Object.entries(m.sourceLabels).every(([k, v]) => scope.labels[k] === v);
}

function vsRoutes(scope: ProxyScope, svc: MeshService, port: number): EnvoyObject[] | undefined {
  const vs = virtualServiceFor(scope, svc.hostname);
  if (!vs?.spec?.http || vs.spec.http.length === 0) return undefined;
  const ns = vs.metadata.namespace ?? 'default';
  const routes: EnvoyObject[] = [];
  vs.spec.http.forEach((rule, i) => {
    const where = `VirtualService/${ns}/${vs.metadata.name}: spec.http[${i}]`;
    const matches = (rule.match && rule.match.length > 0 ? rule.match : [undefined]).filter(
      (m) => !m || sourceMatches(m, scope, port),
    );
    for (const m of matches) {
      const route: EnvoyObject = {
        name: rule.name ?? m?.name ?? `${ns}/${vs.metadata.name}.${i}`,
        match: routeMatch(m),
      };
      const choice = clusterChoice(scope, rule.route ?? [], ns, port);
      if (choice) {
        const action: EnvoyObject = { ...choice };
        if (rule.timeout) action.timeout = protoDuration(rule.timeout, `${where}.timeout`);
        if (rule.retries && (rule.retries.attempts ?? 0) > 0) {
          const rp: EnvoyObject = {
            retry_on:
              rule.retries.retryOn ?? 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
            num_retries: rule.retries.attempts,
          };
          if (rule.retries.perTryTimeout)
            rp.per_try_timeout = protoDuration(rule.retries.perTryTimeout, `${where}.retries.perTryTimeout`);
          action.retry_policy = rp;
        }
        if (rule.rewrite?.uri) action.prefix_rewrite = rule.rewrite.uri;
        if (rule.rewrite?.authority) action.host_rewrite_literal = rule.rewrite.authority;
        route.route = action;
      } else {
        route.direct_response = { status: 500, body: { inline_string: 'no destination with a non-zero weight' } };
      }
      headerOps(route, rule.headers);
      if (rule.route?.length === 1) headerOps(route, rule.route[0]?.headers);
      if (rule.fault && (rule.fault.delay || rule.fault.abort)) {
        route.typed_per_filter_config = { 'envoy.filters.http.fault': faultConfig(rule.fault, where) };
      }
      routes.push(route);
    }
  });
  return routes;
}

/** The catch-all virtual host: where requests for unknown hosts go under the proxy's mode. */
function catchAllVirtualHost(scope: ProxyScope, rule: string): EnvoyObject {
  const blocked = scope.mode === 'REGISTRY_ONLY' && !scope.audit;
  if (blocked) {
    return {
      name: 'block_all',
      domains: ['*'],
      routes: [{ name: 'block_all', match: { prefix: '/' }, direct_response: { status: 502 } }],
    };
  }
  const route: EnvoyObject = { name: 'allow_any', match: { prefix: '/' }, route: { cluster: PASSTHROUGH_CLUSTER } };
  const meta: Record<string, string> = { rule, mode: scope.mode };
  if (scope.audit) meta.egressMode = 'audit';
  route.metadata = { filter_metadata: { [SLUICE_METADATA]: meta } };
  return { name: 'allow_any', domains: ['*'], routes: [route] };
}

export function buildRoutes(
  scope: ProxyScope,
  httpPorts: readonly number[],
  defaultRule: string,
): NamedEnvoyResource[] {
  const out: NamedEnvoyResource[] = [];
  for (const port of httpPorts) {
    const used = new Set<string>(['*']);
    const vhosts: EnvoyObject[] = [];
    const services = scope.services
      .filter((s) => s.ports.some((p) => p.number === port && p.kind === 'http'))
      .sort((a, b) => a.rank - b.rank);
    for (const svc of services) {
      const domains = domainsFor(svc, port, scope.namespace).filter((d) => !used.has(d));
      if (domains.length === 0) continue;
      for (const d of domains) used.add(d);
      const routes = vsRoutes(scope, svc, port) ?? [
        {
          name: 'default',
          match: { prefix: '/' },
          route: { cluster: outboundClusterName(port, undefined, svc.hostname) },
        },
      ];
      vhosts.push({ name: `${svc.hostname}:${port}`, domains, routes });
    }
    vhosts.sort((a, b) => ((a.name as string) < (b.name as string) ? -1 : 1));
    vhosts.push(catchAllVirtualHost(scope, defaultRule));
    out.push({ name: String(port), virtual_hosts: vhosts, validate_clusters: false });
  }
  return out;
}
