import type { IncomingHttpHeaders } from 'node:http';

/**
 * Headers every Bookinfo service copies from its request onto its upstream calls (the same list in
 * details, reviews and productpage of the original). Copied only when present; no ids are invented.
 */
export const PROPAGATED_HEADERS = [
  'x-request-id',
  'x-ot-span-context',
  'x-datadog-trace-id',
  'x-datadog-parent-id',
  'x-datadog-sampling-priority',
  'traceparent',
  'tracestate',
  'x-cloud-trace-context',
  'grpc-trace-bin',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'sw8',
  'end-user',
  'user-agent',
  'cookie',
  'authorization',
  'jwt',
] as const;

/** Returns the named headers present on `incoming`, lower-cased, multiple values joined. */
export function pickHeaders(incoming: IncomingHttpHeaders, names: readonly string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = incoming[name];
    if (value === undefined) continue;
    picked[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return picked;
}
