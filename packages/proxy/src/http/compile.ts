/**
 * Compiles an Envoy RouteConfiguration (proto3 JSON mapping, snake_case) into {@link CompiledRoutes}:
 * domains sorted the way Envoy searches them, matchers turned into functions, durations into
 * milliseconds, header mutations ordered most specific first. Done once per snapshot.
 */
import { durationToMs, fractionOf } from './duration.js';
import { RouteConfigError } from './errors.js';
import { compileStringMatcher, fullMatchRegex, type RawStringMatcher } from './string-match.js';
import type {
  AppendAction,
  CompiledRoute,
  CompiledRoutes,
  CompiledVirtualHost,
  FaultPolicy,
  HeaderCondition,
  HeaderMutation,
  RetryOn,
  RetryPolicy,
  RouteMatch,
} from './types.js';
import { validateRouteConfiguration } from './validate.js';

// biome-ignore lint/suspicious/noExplicitAny: validated decoded JSON
type Raw = any;

/** Envoy's route timeout when none is configured. */
export const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;
const FAULT_FILTER = 'envoy.filters.http.fault';

function compileMutation(o: Raw): HeaderMutation {
  const add = (o.request_headers_to_add ?? []).map((h: Raw) => toAdd(h));
  return { remove: (o.request_headers_to_remove ?? []).map((n: string) => n.toLowerCase()), add };
}
function compileResponseMutation(o: Raw): HeaderMutation {
  const add = (o.response_headers_to_add ?? []).map((h: Raw) => toAdd(h));
  return { remove: (o.response_headers_to_remove ?? []).map((n: string) => n.toLowerCase()), add };
}
function toAdd(h: Raw) {
  let action: AppendAction = h.append_action ?? 'APPEND_IF_EXISTS_OR_ADD';
  if (h.append === false) action = 'OVERWRITE_IF_EXISTS_OR_ADD';
  return Object.freeze({
    name: String(h.header.key).toLowerCase(),
    value: String(h.header.value ?? '').replace(/%%/g, '%'),
    action,
    keepEmptyValue: h.keep_empty_value === true,
  });
}

function compileHeaderCondition(h: Raw): HeaderCondition {
  const legacy: RawStringMatcher | undefined =
    h.exact_match !== undefined
      ? { exact: h.exact_match }
      : h.prefix_match !== undefined
        ? { prefix: h.prefix_match }
        : h.suffix_match !== undefined
          ? { suffix: h.suffix_match }
          : h.contains_match !== undefined
            ? { contains: h.contains_match }
            : h.safe_regex_match !== undefined
              ? { safe_regex: h.safe_regex_match }
              : undefined;
  const sm = h.string_match ?? legacy;
  const isPresence = sm === undefined;
  return Object.freeze({
    name: String(h.name).toLowerCase(),
    // a matcher with no specifier at all is Envoy's "present" match
    matcher: isPresence ? undefined : compileStringMatcher(sm),
    present: isPresence ? h.present_match !== false : true,
    invert: h.invert_match === true,
    treatMissingAsEmpty: h.treat_missing_header_as_empty === true,
  });
}

function compileMatch(m: Raw): RouteMatch {
  const caseSensitive = m.case_sensitive !== false;
  const headers = (m.headers ?? []).map(compileHeaderCondition);
  const query = (m.query_parameters ?? []).map((q: Raw) =>
    Object.freeze({
      name: String(q.name),
      matcher: q.string_match !== undefined ? compileStringMatcher(q.string_match) : undefined,
    }),
  );
  const fold = (s: string) => (caseSensitive ? s : s.toLowerCase());
  if (m.path !== undefined)
    return { kind: 'path', value: fold(m.path), regex: undefined, caseSensitive, headers, query };
  if (m.safe_regex !== undefined)
    return {
      kind: 'regex',
      value: m.safe_regex.regex,
      regex: fullMatchRegex(m.safe_regex.regex, !caseSensitive),
      caseSensitive,
      headers,
      query,
    };
  return { kind: 'prefix', value: fold(m.prefix ?? ''), regex: undefined, caseSensitive, headers, query };
}

function compileRetry(r: Raw): RetryPolicy {
  const retryOn = new Set<RetryOn>(
    String(r.retry_on ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean) as RetryOn[],
  );
  return Object.freeze({
    retryOn,
    // Envoy retries once when a policy exists without num_retries
    numRetries: r.num_retries ?? 1,
    perTryTimeoutMs: durationToMs(r.per_try_timeout) ?? 0,
    retriableStatusCodes: new Set<number>(r.retriable_status_codes ?? []),
    avoidPreviousHosts: (r.retry_host_predicate ?? []).length > 0,
  });
}

function compileFault(f: Raw): FaultPolicy | undefined {
  if (f === undefined) return undefined;
  return Object.freeze({
    delay: f.delay
      ? Object.freeze({ ms: durationToMs(f.delay.fixed_delay) ?? 0, fraction: fractionOf(f.delay.percentage) })
      : undefined,
    abort: f.abort
      ? Object.freeze({ status: Number(f.abort.http_status), fraction: fractionOf(f.abort.percentage) })
      : undefined,
  });
}

function compileRoute(r: Raw, vhostLevel: Raw, rcLevel: Raw): CompiledRoute {
  let action: CompiledRoute['action'];
  if (r.direct_response) {
    action = Object.freeze({
      kind: 'direct',
      status: Number(r.direct_response.status),
      body: String(r.direct_response.body?.inline_string ?? ''),
    });
  } else {
    const a = r.route;
    const clusters = a.cluster
      ? [{ name: String(a.cluster), weight: 1 }]
      : (a.weighted_clusters.clusters as Raw[]).map((c) => ({ name: String(c.name), weight: Number(c.weight ?? 0) }));
    let timeoutMs = a.timeout === undefined ? DEFAULT_ROUTE_TIMEOUT_MS : (durationToMs(a.timeout) ?? 0);
    const msd = durationToMs(a.max_stream_duration?.max_stream_duration) ?? 0;
    if (msd > 0 && (timeoutMs === 0 || msd < timeoutMs)) timeoutMs = msd;
    action = Object.freeze({
      kind: 'forward',
      clusters: Object.freeze(clusters.map((c) => Object.freeze(c))),
      totalWeight: clusters.reduce((s, c) => s + c.weight, 0),
      timeoutMs,
      retry: a.retry_policy ? compileRetry(a.retry_policy) : undefined,
      prefixRewrite: a.prefix_rewrite,
      hostRewrite: a.host_rewrite_literal,
      clusterNotFoundStatus:
        a.cluster_not_found_response_code === 'NOT_FOUND'
          ? 404
          : a.cluster_not_found_response_code === 'INTERNAL_SERVER_ERROR'
            ? 500
            : 503,
    });
  }
  return Object.freeze({
    name: typeof r.name === 'string' ? r.name : '',
    match: Object.freeze(compileMatch(r.match)),
    action,
    requestHeaders: Object.freeze([r, vhostLevel, rcLevel].map(compileMutation).filter(nonEmpty)),
    responseHeaders: Object.freeze([r, vhostLevel, rcLevel].map(compileResponseMutation).filter(nonEmpty)),
    fault: compileFault(r.typed_per_filter_config?.[FAULT_FILTER]),
  });
}

function nonEmpty(m: HeaderMutation): boolean {
  return m.add.length > 0 || m.remove.length > 0;
}

/**
 * Compiles a RouteConfiguration. Throws {@link RouteConfigError} (detail as from
 * {@link validateRouteConfiguration}) when it is outside the subset. The result is frozen.
 */
export function compileRouteConfiguration(rc: unknown): CompiledRoutes {
  const problem = validateRouteConfiguration(rc);
  if (problem) throw new RouteConfigError(problem);
  const raw = rc as Raw;
  const exact = new Map<string, CompiledVirtualHost>();
  const suffix: [string, CompiledVirtualHost][] = [];
  const prefix: [string, CompiledVirtualHost][] = [];
  let catchAll: CompiledVirtualHost | undefined;
  const virtualHosts = (raw.virtual_hosts ?? []).map((vh: Raw) => {
    const compiled: CompiledVirtualHost = Object.freeze({
      name: String(vh.name ?? ''),
      domains: Object.freeze([...(vh.domains as string[])]),
      routes: Object.freeze((vh.routes ?? []).map((r: Raw) => compileRoute(r, vh, raw))),
      includeAttemptCount: vh.include_request_attempt_count === true,
    });
    for (const d of vh.domains as string[]) {
      const dom = d.toLowerCase();
      if (dom === '*') catchAll = compiled;
      else if (dom.startsWith('*')) suffix.push([dom.slice(1), compiled]);
      else if (dom.endsWith('*')) prefix.push([dom.slice(0, -1), compiled]);
      else exact.set(dom, compiled);
    }
    return compiled;
  });
  suffix.sort((a, b) => b[0].length - a[0].length);
  prefix.sort((a, b) => b[0].length - a[0].length);
  return Object.freeze({
    name: String(raw.name ?? ''),
    virtualHosts: Object.freeze(virtualHosts),
    exact,
    suffixWildcards: Object.freeze(suffix),
    prefixWildcards: Object.freeze(prefix),
    catchAll,
    ignorePortInHostMatching: raw.ignore_port_in_host_matching === true,
  });
}
