/**
 * Every response the proxy makes up itself, in one place: status, body, Envoy response flag and
 * response code details. Bodies are Envoy's, so clients and tests written for Istio see the same.
 */
export type ResponseFlag = 'NR' | 'NC' | 'UH' | 'UF' | 'UC' | 'UO' | 'UT' | 'URX' | 'DI' | 'FI' | 'DC' | 'DPE' | 'UPE';

export interface LocalReply {
  readonly status: number;
  readonly body: string;
  readonly flag: ResponseFlag | undefined;
  readonly details: string;
}

const beforeHeaders = 'upstream connect error or disconnect/reset before headers.';

export const localReplies = {
  missingHost: { status: 400, body: '', flag: 'DPE', details: 'missing_host_header' },
  multipleHosts: { status: 400, body: '', flag: 'DPE', details: 'multiple_host_headers' },
  invalidHost: { status: 400, body: '', flag: 'DPE', details: 'invalid_host_header' },
  tooManyHeaders: { status: 431, body: '', flag: 'DPE', details: 'http1.too_many_headers' },
  noRoute: { status: 404, body: '', flag: 'NR', details: 'route_not_found' },
  noCluster: (status: number, cluster: string, why: string): LocalReply => ({
    status,
    body: '',
    flag: 'NC',
    details: `cluster_not_found: ${cluster}${why ? ` (${why})` : ''}`,
  }),
  noHealthyUpstream: { status: 503, body: 'no healthy upstream', flag: 'UH', details: 'no_healthy_upstream' },
  connectFailure: (retried: boolean, reason: string): LocalReply => ({
    status: 503,
    body: `${beforeHeaders} ${retried ? 'retried and the latest reset reason' : 'reset reason'}: ${reason}`,
    flag: 'UF',
    details: `upstream_reset_before_response_started{${reason.replace(/[ ,:]+/g, '_')}}`,
  }),
  upstreamReset: (retried: boolean): LocalReply => ({
    status: 503,
    body: `${beforeHeaders} ${retried ? 'retried and the latest reset reason' : 'reset reason'}: connection termination`,
    flag: 'UC',
    details: 'upstream_reset_before_response_started{connection_termination}',
  }),
  upstreamProtocolError: (retried: boolean): LocalReply => ({
    status: 502,
    body: `${beforeHeaders} ${retried ? 'retried and the latest reset reason' : 'reset reason'}: protocol error`,
    flag: 'UPE',
    details: 'upstream_reset_before_response_started{protocol_error}',
  }),
  overflow: {
    status: 503,
    body: `${beforeHeaders} reset reason: overflow`,
    flag: 'UO',
    details: 'upstream_reset_before_response_started{overflow}',
  },
  timeout: { status: 504, body: 'upstream request timeout', flag: 'UT', details: 'upstream_response_timeout' },
  perTryTimeout: { status: 504, body: 'upstream request timeout', flag: 'UT', details: 'upstream_per_try_timeout' },
  faultAbort: (status: number): LocalReply => ({
    status,
    body: 'fault filter abort',
    flag: 'FI',
    details: 'fault_filter_abort',
  }),
  direct: (status: number, body: string): LocalReply => ({ status, body, flag: undefined, details: 'direct_response' }),
} as const satisfies Record<string, LocalReply | ((...args: never[]) => LocalReply)>;

/** Explains a missing cluster named in Istio's form `outbound|<port>|<subset>|<host>`. */
export function explainMissingCluster(name: string): string {
  const parts = name.split('|');
  if (parts.length === 4 && parts[2]) return `subset "${parts[2]}" of ${parts[3]} port ${parts[1]} is not defined`;
  if (parts.length === 4) return `service ${parts[3]} port ${parts[1]} is not known`;
  return 'no such cluster';
}
