/**
 * Checks that a RouteConfiguration (proto3 JSON mapping, snake_case, as decoded by @sluice/xds)
 * stays inside the subset Sluice's HTTP router implements. Every problem is collected; the proxy
 * NACKs with the joined detail, which names the resource and the field path.
 */
import { durationToMs } from './duration.js';
import { fullMatchRegex } from './string-match.js';

// biome-ignore lint/suspicious/noExplicitAny: raw decoded JSON of arbitrary shape
type Raw = any;

const FAULT_FILTER = 'envoy.filters.http.fault';
const HTTP_FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const PREVIOUS_HOSTS = 'envoy.retry_host_predicates.previous_hosts';

/** retry_on values the router acts on (`refused-stream` never happens on HTTP/1.1 and is accepted). */
export const supportedRetryOn = [
  '5xx',
  'gateway-error',
  'connect-failure',
  'reset',
  'retriable-status-codes',
  'retriable-4xx',
  'refused-stream',
] as const;

const appendActions = ['APPEND_IF_EXISTS_OR_ADD', 'ADD_IF_ABSENT', 'OVERWRITE_IF_EXISTS_OR_ADD', 'OVERWRITE_IF_EXISTS'];
const notFoundCodes = ['SERVICE_UNAVAILABLE', 'NOT_FOUND', 'INTERNAL_SERVER_ERROR'];

class Problems {
  readonly list: string[] = [];
  add(path: string, rule: string): void {
    this.list.push(`${path}: ${rule}`);
  }
  keys(obj: Raw, path: string, allowed: readonly string[]): boolean {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      this.add(path, 'expected an object');
      return false;
    }
    for (const k of Object.keys(obj)) {
      if (!allowed.includes(k)) this.add(`${path}.${k}`, `field not supported by Sluice's HTTP router`);
    }
    return true;
  }
  list_(obj: Raw, path: string): Raw[] {
    if (obj === undefined) return [];
    if (!Array.isArray(obj)) {
      this.add(path, 'expected a list');
      return [];
    }
    return obj;
  }
  duration(value: Raw, path: string): void {
    if (value !== undefined && durationToMs(value) === undefined)
      this.add(path, `invalid duration ${JSON.stringify(value)} (expected e.g. "15s", "0.250s")`);
  }
  regex(pattern: Raw, path: string): void {
    if (typeof pattern !== 'string') {
      this.add(path, 'regex must be a string');
      return;
    }
    try {
      fullMatchRegex(pattern);
    } catch (e) {
      this.add(path, `invalid regex: ${(e as Error).message}`);
    }
  }
}

function checkStringMatcher(p: Problems, m: Raw, path: string): void {
  if (!p.keys(m, path, ['exact', 'prefix', 'suffix', 'contains', 'safe_regex', 'ignore_case'])) return;
  const kinds = ['exact', 'prefix', 'suffix', 'contains', 'safe_regex'].filter((k) => m[k] !== undefined);
  if (kinds.length > 1) p.add(path, `only one of ${kinds.join(', ')} may be set`);
  for (const k of ['prefix', 'suffix', 'contains']) {
    if (m[k] === '') p.add(`${path}.${k}`, 'must not be empty');
  }
  if (m.safe_regex !== undefined && p.keys(m.safe_regex, `${path}.safe_regex`, ['regex', 'google_re2']))
    p.regex(m.safe_regex.regex, `${path}.safe_regex.regex`);
}

function checkHeaderMatcher(p: Problems, h: Raw, path: string): void {
  const legacy = ['exact_match', 'prefix_match', 'suffix_match', 'contains_match', 'safe_regex_match'];
  const allowed = ['name', 'string_match', 'present_match', 'invert_match', 'treat_missing_header_as_empty', ...legacy];
  if (!p.keys(h, path, allowed)) return;
  if (typeof h.name !== 'string' || h.name === '') p.add(`${path}.name`, 'a header name is required');
  const kinds = ['string_match', 'present_match', ...legacy].filter((k) => h[k] !== undefined);
  if (kinds.length > 1) p.add(path, `only one of ${kinds.join(', ')} may be set`);
  if (h.string_match !== undefined) checkStringMatcher(p, h.string_match, `${path}.string_match`);
  if (
    h.safe_regex_match !== undefined &&
    p.keys(h.safe_regex_match, `${path}.safe_regex_match`, ['regex', 'google_re2'])
  )
    p.regex(h.safe_regex_match.regex, `${path}.safe_regex_match.regex`);
}

function checkHeaderValueOptions(p: Problems, list: Raw, path: string): void {
  p.list_(list, path).forEach((o, i) => {
    const at = `${path}[${i}]`;
    if (!p.keys(o, at, ['header', 'append_action', 'append', 'keep_empty_value'])) return;
    if (!p.keys(o.header, `${at}.header`, ['key', 'value', 'raw_value'])) return;
    if (o.header.raw_value !== undefined)
      p.add(`${at}.header.raw_value`, "field not supported by Sluice's HTTP router");
    if (typeof o.header.key !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(o.header.key))
      p.add(`${at}.header.key`, `invalid header name ${JSON.stringify(o.header.key)}`);
    const value = o.header.value ?? '';
    if (typeof value !== 'string' || /[\r\n\0]/.test(value)) p.add(`${at}.header.value`, 'invalid header value');
    else if (/%(?!%)/.test(value.replace(/%%/g, '')))
      p.add(`${at}.header.value`, 'command operators (%...%) are not supported; write %% for a literal %');
    if (o.append_action !== undefined && !appendActions.includes(o.append_action))
      p.add(`${at}.append_action`, `must be one of ${appendActions.join(', ')}`);
    if (o.append !== undefined && o.append_action !== undefined) p.add(at, 'append and append_action are exclusive');
  });
}

function checkHeaderNames(p: Problems, list: Raw, path: string): void {
  p.list_(list, path).forEach((name, i) => {
    if (typeof name !== 'string' || name === '') p.add(`${path}[${i}]`, 'a header name is required');
    else if (name.startsWith(':') || name.toLowerCase() === 'host') p.add(`${path}[${i}]`, `${name} cannot be removed`);
  });
}

function checkMutations(p: Problems, o: Raw, path: string): void {
  checkHeaderValueOptions(p, o.request_headers_to_add, `${path}.request_headers_to_add`);
  checkHeaderValueOptions(p, o.response_headers_to_add, `${path}.response_headers_to_add`);
  checkHeaderNames(p, o.request_headers_to_remove, `${path}.request_headers_to_remove`);
  checkHeaderNames(p, o.response_headers_to_remove, `${path}.response_headers_to_remove`);
}
const mutationKeys = [
  'request_headers_to_add',
  'request_headers_to_remove',
  'response_headers_to_add',
  'response_headers_to_remove',
];

function checkPercent(p: Problems, pct: Raw, path: string): void {
  if (pct === undefined) return;
  if (!p.keys(pct, path, ['numerator', 'denominator'])) return;
  if (pct.denominator !== undefined && !['HUNDRED', 'TEN_THOUSAND', 'MILLION'].includes(pct.denominator))
    p.add(`${path}.denominator`, 'must be HUNDRED, TEN_THOUSAND or MILLION');
}

function checkFault(p: Problems, f: Raw, path: string): void {
  if (!p.keys(f, path, ['@type', 'delay', 'abort'])) return;
  if (f['@type'] !== HTTP_FAULT_TYPE) p.add(`${path}.@type`, `must be ${HTTP_FAULT_TYPE}`);
  if (f.delay !== undefined && p.keys(f.delay, `${path}.delay`, ['fixed_delay', 'percentage'])) {
    if (f.delay.fixed_delay === undefined)
      p.add(`${path}.delay.fixed_delay`, 'required (header_delay is not supported)');
    p.duration(f.delay.fixed_delay, `${path}.delay.fixed_delay`);
    checkPercent(p, f.delay.percentage, `${path}.delay.percentage`);
  }
  if (f.abort !== undefined && p.keys(f.abort, `${path}.abort`, ['http_status', 'percentage'])) {
    const s = f.abort.http_status;
    if (!Number.isInteger(s) || s < 200 || s >= 600)
      p.add(`${path}.abort.http_status`, 'must be an HTTP status in [200, 600)');
    checkPercent(p, f.abort.percentage, `${path}.abort.percentage`);
  }
}

function checkRetryPolicy(p: Problems, r: Raw, path: string): void {
  const allowed = [
    'retry_on',
    'num_retries',
    'per_try_timeout',
    'retriable_status_codes',
    'retry_host_predicate',
    'host_selection_retry_max_attempts',
  ];
  if (!p.keys(r, path, allowed)) return;
  if (r.retry_on !== undefined) {
    for (const cond of String(r.retry_on)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      if (!(supportedRetryOn as readonly string[]).includes(cond))
        p.add(`${path}.retry_on`, `"${cond}" is not supported (supported: ${supportedRetryOn.join(', ')})`);
    }
  }
  if (r.num_retries !== undefined && !(Number.isInteger(r.num_retries) && r.num_retries >= 0))
    p.add(`${path}.num_retries`, 'must be a non-negative integer');
  p.duration(r.per_try_timeout, `${path}.per_try_timeout`);
  p.list_(r.retriable_status_codes, `${path}.retriable_status_codes`).forEach((c, i) => {
    if (!Number.isInteger(c) || c < 100 || c >= 600)
      p.add(`${path}.retriable_status_codes[${i}]`, 'must be an HTTP status');
  });
  p.list_(r.retry_host_predicate, `${path}.retry_host_predicate`).forEach((pred, i) => {
    if (pred?.name !== PREVIOUS_HOSTS)
      p.add(`${path}.retry_host_predicate[${i}].name`, `only ${PREVIOUS_HOSTS} is supported`);
  });
}

function checkRouteAction(p: Problems, a: Raw, path: string, matchKind: string | undefined): void {
  const allowed = [
    'cluster',
    'weighted_clusters',
    'timeout',
    'retry_policy',
    'prefix_rewrite',
    'host_rewrite_literal',
    'max_stream_duration',
    'cluster_not_found_response_code',
  ];
  if (!p.keys(a, path, allowed)) return;
  const targets = ['cluster', 'weighted_clusters'].filter((k) => a[k] !== undefined);
  if (targets.length !== 1)
    p.add(path, 'exactly one of cluster, weighted_clusters is required (cluster_header is not supported)');
  if (a.cluster !== undefined && (typeof a.cluster !== 'string' || a.cluster === ''))
    p.add(`${path}.cluster`, 'must be a non-empty cluster name');
  if (
    a.weighted_clusters !== undefined &&
    p.keys(a.weighted_clusters, `${path}.weighted_clusters`, ['clusters', 'total_weight'])
  ) {
    const list = p.list_(a.weighted_clusters.clusters, `${path}.weighted_clusters.clusters`);
    if (list.length === 0) p.add(`${path}.weighted_clusters.clusters`, 'at least one cluster is required');
    let sum = 0;
    list.forEach((c, i) => {
      const at = `${path}.weighted_clusters.clusters[${i}]`;
      if (!p.keys(c, at, ['name', 'weight'])) return;
      if (typeof c.name !== 'string' || c.name === '') p.add(`${at}.name`, 'must be a non-empty cluster name');
      const w = c.weight ?? 0;
      if (!Number.isInteger(w) || w < 0) p.add(`${at}.weight`, 'must be a non-negative integer');
      else sum += w;
    });
    if (list.length > 0 && sum === 0) p.add(`${path}.weighted_clusters`, 'the weights sum to 0');
  }
  p.duration(a.timeout, `${path}.timeout`);
  if (
    a.max_stream_duration !== undefined &&
    p.keys(a.max_stream_duration, `${path}.max_stream_duration`, [
      'max_stream_duration',
      'grpc_timeout_header_max',
      'grpc_timeout_header_offset',
    ])
  ) {
    p.duration(a.max_stream_duration.max_stream_duration, `${path}.max_stream_duration.max_stream_duration`);
  }
  if (a.cluster_not_found_response_code !== undefined && !notFoundCodes.includes(a.cluster_not_found_response_code))
    p.add(`${path}.cluster_not_found_response_code`, `must be one of ${notFoundCodes.join(', ')}`);
  if (a.retry_policy !== undefined) checkRetryPolicy(p, a.retry_policy, `${path}.retry_policy`);
  if (a.prefix_rewrite !== undefined && typeof a.prefix_rewrite !== 'string')
    p.add(`${path}.prefix_rewrite`, 'must be a string');
  if (a.prefix_rewrite !== undefined && matchKind === undefined)
    p.add(`${path}.prefix_rewrite`, 'needs a prefix, path or safe_regex match');
  if (
    a.host_rewrite_literal !== undefined &&
    (typeof a.host_rewrite_literal !== 'string' || /[\s\0]/.test(a.host_rewrite_literal))
  )
    p.add(`${path}.host_rewrite_literal`, 'must be a host without whitespace');
}

function checkRoute(p: Problems, r: Raw, path: string): void {
  const allowed = [
    'name',
    'match',
    'route',
    'direct_response',
    'typed_per_filter_config',
    'decorator',
    'metadata',
    ...mutationKeys,
  ];
  if (!p.keys(r, path, allowed)) return;
  let matchKind: string | undefined;
  const m = r.match;
  if (m === undefined) p.add(`${path}.match`, 'required');
  else if (
    p.keys(m, `${path}.match`, ['prefix', 'path', 'safe_regex', 'case_sensitive', 'headers', 'query_parameters'])
  ) {
    const kinds = ['prefix', 'path', 'safe_regex'].filter((k) => m[k] !== undefined);
    if (kinds.length !== 1) p.add(`${path}.match`, 'exactly one of prefix, path, safe_regex is required');
    matchKind = kinds[0];
    if (m.path !== undefined && (typeof m.path !== 'string' || !m.path.startsWith('/')))
      p.add(`${path}.match.path`, 'must start with /');
    if (m.prefix !== undefined && typeof m.prefix !== 'string') p.add(`${path}.match.prefix`, 'must be a string');
    if (m.safe_regex !== undefined && p.keys(m.safe_regex, `${path}.match.safe_regex`, ['regex', 'google_re2']))
      p.regex(m.safe_regex.regex, `${path}.match.safe_regex.regex`);
    p.list_(m.headers, `${path}.match.headers`).forEach((h, i) => {
      checkHeaderMatcher(p, h, `${path}.match.headers[${i}]`);
    });
    p.list_(m.query_parameters, `${path}.match.query_parameters`).forEach((q, i) => {
      const at = `${path}.match.query_parameters[${i}]`;
      if (!p.keys(q, at, ['name', 'string_match', 'present_match'])) return;
      if (typeof q.name !== 'string' || q.name === '') p.add(`${at}.name`, 'a parameter name is required');
      if (q.string_match !== undefined && q.present_match !== undefined)
        p.add(at, 'only one of string_match, present_match may be set');
      if (q.string_match !== undefined) checkStringMatcher(p, q.string_match, `${at}.string_match`);
    });
  }
  const actions = ['route', 'direct_response'].filter((k) => r[k] !== undefined);
  if (actions.length !== 1)
    p.add(path, 'exactly one of route, direct_response is required (redirect is not supported)');
  if (r.route !== undefined) checkRouteAction(p, r.route, `${path}.route`, matchKind);
  if (r.direct_response !== undefined && p.keys(r.direct_response, `${path}.direct_response`, ['status', 'body'])) {
    const s = r.direct_response.status;
    if (!Number.isInteger(s) || s < 200 || s >= 600)
      p.add(`${path}.direct_response.status`, 'must be an HTTP status in [200, 600)');
    const body = r.direct_response.body;
    if (
      body !== undefined &&
      p.keys(body, `${path}.direct_response.body`, ['inline_string']) &&
      typeof (body.inline_string ?? '') !== 'string'
    )
      p.add(`${path}.direct_response.body.inline_string`, 'must be a string');
  }
  checkMutations(p, r, path);
  const tpfc = r.typed_per_filter_config;
  if (
    tpfc !== undefined &&
    p.keys(tpfc, `${path}.typed_per_filter_config`, [FAULT_FILTER]) &&
    tpfc[FAULT_FILTER] !== undefined
  )
    checkFault(p, tpfc[FAULT_FILTER], `${path}.typed_per_filter_config["${FAULT_FILTER}"]`);
}

function checkDomain(p: Problems, d: Raw, path: string): void {
  if (typeof d !== 'string' || d === '') {
    p.add(path, 'a domain must be a non-empty string');
    return;
  }
  if (d === '*') return;
  const stars = d.split('*').length - 1;
  if (stars > 1 || (stars === 1 && !d.startsWith('*') && !d.endsWith('*')))
    p.add(path, `"${d}": a wildcard may only be the first or the last character`);
}

/**
 * Returns undefined when the RouteConfiguration is inside the implemented subset, else an error
 * detail naming the resource, every offending field path and the rule broken. Never throws.
 */
export function validateRouteConfiguration(rc: unknown): string | undefined {
  const p = new Problems();
  const raw = rc as Raw;
  const name = typeof raw?.name === 'string' ? raw.name : '';
  const root = 'RouteConfiguration';
  const allowed = ['name', 'virtual_hosts', 'validate_clusters', 'ignore_port_in_host_matching', ...mutationKeys];
  if (p.keys(raw, root, allowed)) {
    checkMutations(p, raw, root);
    const seen = new Map<string, string>();
    p.list_(raw.virtual_hosts, `${root}.virtual_hosts`).forEach((vh, i) => {
      const at = `${root}.virtual_hosts[${i}]`;
      const vhAllowed = ['name', 'domains', 'routes', 'include_request_attempt_count', ...mutationKeys];
      if (!p.keys(vh, at, vhAllowed)) return;
      const domains = p.list_(vh.domains, `${at}.domains`);
      if (domains.length === 0) p.add(`${at}.domains`, 'at least one domain is required');
      domains.forEach((d, j) => {
        checkDomain(p, d, `${at}.domains[${j}]`);
        if (typeof d !== 'string') return;
        const key = d.toLowerCase();
        const other = seen.get(key);
        if (other !== undefined)
          p.add(`${at}.domains[${j}]`, `domain "${d}" is already used by ${other}; domains must be unique`);
        else seen.set(key, `${at} (${vh.name ?? ''})`);
      });
      checkMutations(p, vh, at);
      p.list_(vh.routes, `${at}.routes`).forEach((r, j) => {
        checkRoute(p, r, `${at}.routes[${j}]`);
      });
    });
  }
  if (p.list.length === 0) return undefined;
  const shown = p.list.slice(0, 10);
  const more = p.list.length > shown.length ? `; and ${p.list.length - shown.length} more` : '';
  return `RouteConfiguration "${name}": ${shown.join('; ')}${more}`;
}
