/**
 * The compiled form of an Envoy RouteConfiguration: plain frozen data built once per snapshot
 * by {@link compileRouteConfiguration}; the connection handler only consults it.
 */
import type { StringMatcher } from './string-match.js';

/** How a header mutation treats an existing header (Envoy's HeaderValueOption.append_action). */
export type AppendAction =
  | 'APPEND_IF_EXISTS_OR_ADD'
  | 'ADD_IF_ABSENT'
  | 'OVERWRITE_IF_EXISTS_OR_ADD'
  | 'OVERWRITE_IF_EXISTS';

export interface HeaderToAdd {
  /** lower-case header name */
  readonly name: string;
  readonly value: string;
  readonly action: AppendAction;
  readonly keepEmptyValue: boolean;
}

/** One level (route, virtual host or route configuration) of header mutations: removes, then adds. */
export interface HeaderMutation {
  readonly remove: readonly string[];
  readonly add: readonly HeaderToAdd[];
}

export interface HeaderCondition {
  /** lower-case; pseudo-headers `:method`, `:path`, `:authority`, `:scheme` are understood */
  readonly name: string;
  /** undefined: presence test (see `present`) */
  readonly matcher: StringMatcher | undefined;
  /** for a presence test: true = must be present, false = must be absent */
  readonly present: boolean;
  readonly invert: boolean;
  readonly treatMissingAsEmpty: boolean;
}

export interface QueryCondition {
  readonly name: string;
  /** undefined: the parameter only has to be present */
  readonly matcher: StringMatcher | undefined;
}

export interface RouteMatch {
  readonly kind: 'prefix' | 'path' | 'regex';
  /** the prefix or path as configured (lower-cased when not case sensitive) */
  readonly value: string;
  readonly regex: RegExp | undefined;
  readonly caseSensitive: boolean;
  readonly headers: readonly HeaderCondition[];
  readonly query: readonly QueryCondition[];
}

export interface WeightedCluster {
  readonly name: string;
  readonly weight: number;
}

/** Which failures a retry policy retries (Envoy's retry_on). */
export type RetryOn =
  | '5xx'
  | 'gateway-error'
  | 'connect-failure'
  | 'reset'
  | 'retriable-status-codes'
  | 'retriable-4xx'
  | 'refused-stream';

export interface RetryPolicy {
  readonly retryOn: ReadonlySet<RetryOn>;
  readonly numRetries: number;
  /** 0: no per-try timeout (the route timeout bounds every try) */
  readonly perTryTimeoutMs: number;
  readonly retriableStatusCodes: ReadonlySet<number>;
  /** prefer a host not tried before (envoy.retry_host_predicates.previous_hosts) */
  readonly avoidPreviousHosts: boolean;
}

export interface ForwardAction {
  readonly kind: 'forward';
  readonly clusters: readonly WeightedCluster[];
  readonly totalWeight: number;
  /** 0: no timeout (`0s`); Envoy's default is 15 s */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy | undefined;
  readonly prefixRewrite: string | undefined;
  readonly hostRewrite: string | undefined;
  /** status answered when the cluster is unknown (Envoy's cluster_not_found_response_code; 503) */
  readonly clusterNotFoundStatus: number;
}

export interface DirectResponseAction {
  readonly kind: 'direct';
  readonly status: number;
  readonly body: string;
}

export interface FaultPolicy {
  readonly delay: { readonly ms: number; readonly fraction: number } | undefined;
  readonly abort: { readonly status: number; readonly fraction: number } | undefined;
}

export interface CompiledRoute {
  /** the route's `name`, or `""` */
  readonly name: string;
  readonly match: RouteMatch;
  readonly action: ForwardAction | DirectResponseAction;
  /** request mutations, most specific level first (route, virtual host, route configuration) */
  readonly requestHeaders: readonly HeaderMutation[];
  readonly responseHeaders: readonly HeaderMutation[];
  readonly fault: FaultPolicy | undefined;
}

export interface CompiledVirtualHost {
  readonly name: string;
  readonly domains: readonly string[];
  readonly routes: readonly CompiledRoute[];
  /** send `x-envoy-attempt-count` upstream (include_request_attempt_count) */
  readonly includeAttemptCount: boolean;
}

/** A compiled RouteConfiguration. Frozen; safe to share between connections. */
export interface CompiledRoutes {
  readonly name: string;
  readonly virtualHosts: readonly CompiledVirtualHost[];
  /** lower-case exact domains */
  readonly exact: ReadonlyMap<string, CompiledVirtualHost>;
  /** `*suffix` domains, longest suffix first */
  readonly suffixWildcards: readonly (readonly [string, CompiledVirtualHost])[];
  /** `prefix*` domains, longest prefix first */
  readonly prefixWildcards: readonly (readonly [string, CompiledVirtualHost])[];
  readonly catchAll: CompiledVirtualHost | undefined;
  readonly ignorePortInHostMatching: boolean;
}
