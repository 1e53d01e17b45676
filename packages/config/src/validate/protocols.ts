/** Istio port protocols (case-insensitive) and their families. */

const PROTOCOLS = [
  'TCP',
  'UDP',
  'GRPC',
  'GRPC-WEB',
  'HTTP',
  'HTTP_PROXY',
  'HTTP2',
  'HTTPS',
  'TLS',
  'MONGO',
  'REDIS',
  'MYSQL',
];
const HTTP_FAMILY = new Set(['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB', 'HTTP_PROXY']);
const TLS_FAMILY = new Set(['HTTPS', 'TLS']);

export const KNOWN_PROTOCOLS: readonly string[] = PROTOCOLS;

export function isKnownProtocol(p: string): boolean {
  return p === '' || PROTOCOLS.includes(p.toUpperCase());
}
export function isHttpProtocol(p: string | undefined): boolean {
  return p !== undefined && HTTP_FAMILY.has(p.toUpperCase());
}
export function isTlsProtocol(p: string | undefined): boolean {
  return p !== undefined && TLS_FAMILY.has(p.toUpperCase());
}
/** A port Istio serves with a plain TCP proxy: TCP, unset, or a TCP-based protocol Sluice does not parse. */
export function isTcpLikeProtocol(p: string | undefined): boolean {
  if (p === undefined || p === '') return true;
  const u = p.toUpperCase();
  return u === 'TCP' || u === 'MONGO' || u === 'REDIS' || u === 'MYSQL';
}
