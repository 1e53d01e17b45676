/**
 * Request-time lookups over {@link CompiledRoutes}: the virtual host for a Host header (Envoy's
 * order: exact, longest `*suffix`, longest `prefix*`, then `*`) and the first matching route.
 */
import type { CompiledRoute, CompiledRoutes, CompiledVirtualHost, HeaderCondition, RouteMatch } from './types.js';

/** Strips a `:port` from a host (IPv6 literals keep their brackets). */
export function hostWithoutPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.lastIndexOf(':');
  return colon === -1 || host.indexOf(':') !== colon ? host : host.slice(0, colon);
}

/** The virtual host serving `host` (the Host header / :authority), or undefined (404 NR). */
export function selectVirtualHost(routes: CompiledRoutes, host: string): CompiledVirtualHost | undefined {
  let h = host.toLowerCase();
  if (routes.ignorePortInHostMatching) h = hostWithoutPort(h);
  const exact = routes.exact.get(h);
  if (exact) return exact;
  // a wildcard must stand for at least one character
  for (const [suffix, vh] of routes.suffixWildcards) if (h.length > suffix.length && h.endsWith(suffix)) return vh;
  for (const [prefix, vh] of routes.prefixWildcards) if (h.length > prefix.length && h.startsWith(prefix)) return vh;
  return routes.catchAll;
}

/** What route matching looks at in a request. Header names are lower case; values of repeated headers are joined with ",". */
export interface RequestView {
  readonly method: string;
  /** the request target as received (path and query) */
  readonly path: string;
  readonly authority: string;
  readonly scheme: string;
  header(name: string): string | undefined;
}

function headerValue(req: RequestView, name: string): string | undefined {
  switch (name) {
    case ':method':
      return req.method;
    case ':path':
      return req.path;
    case ':authority':
    case 'host':
      return req.authority;
    case ':scheme':
      return req.scheme;
    default:
      return req.header(name);
  }
}

function headerMatches(req: RequestView, c: HeaderCondition): boolean {
  let value = headerValue(req, c.name);
  if (value === undefined && c.treatMissingAsEmpty) value = '';
  if (c.matcher === undefined) {
    const result = (value !== undefined) === c.present;
    return c.invert ? !result : result;
  }
  // a missing header never matches a value matcher, inverted or not (Envoy)
  if (value === undefined) return false;
  const result = c.matcher(value);
  return c.invert ? !result : result;
}

/** Query parameters as Envoy reads them for matching: first value wins, values not percent-decoded. */
function queryParams(path: string): Map<string, string> {
  const params = new Map<string, string>();
  const q = path.indexOf('?');
  if (q === -1) return params;
  for (const part of path.slice(q + 1).split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    if (!params.has(name)) params.set(name, eq === -1 ? '' : part.slice(eq + 1));
  }
  return params;
}

/** Does `req` satisfy a route's match? */
export function routeMatches(m: RouteMatch, req: RequestView): boolean {
  const q = req.path.indexOf('?');
  const pathOnly = q === -1 ? req.path : req.path.slice(0, q);
  switch (m.kind) {
    case 'prefix': {
      const p = m.caseSensitive ? req.path : req.path.toLowerCase();
      if (!p.startsWith(m.value)) return false;
      break;
    }
    case 'path': {
      const p = m.caseSensitive ? pathOnly : pathOnly.toLowerCase();
      if (p !== m.value) return false;
      break;
    }
    case 'regex':
      if (!m.regex?.test(pathOnly)) return false;
      break;
  }
  for (const c of m.headers) if (!headerMatches(req, c)) return false;
  if (m.query.length > 0) {
    const params = queryParams(req.path);
    for (const c of m.query) {
      const v = params.get(c.name);
      if (v === undefined) return false;
      if (c.matcher && !c.matcher(v)) return false;
    }
  }
  return true;
}

/** The first route of `vh` matching `req`, or undefined (404 NR). */
export function selectRoute(vh: CompiledVirtualHost, req: RequestView): CompiledRoute | undefined {
  for (const r of vh.routes) if (routeMatches(r.match, req)) return r;
  return undefined;
}

/** The path after a route's prefix_rewrite (query string kept), or the path unchanged. */
export function rewritePath(route: CompiledRoute, path: string): string {
  if (route.action.kind !== 'forward' || route.action.prefixRewrite === undefined) return path;
  const rewrite = route.action.prefixRewrite;
  if (route.match.kind === 'prefix') return rewrite + path.slice(route.match.value.length);
  const q = path.indexOf('?');
  return rewrite + (q === -1 ? '' : path.slice(q));
}
