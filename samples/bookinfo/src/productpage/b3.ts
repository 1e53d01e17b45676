import type { IncomingHttpHeaders } from 'node:http';

/** A B3 trace context as an OpenTelemetry B3 propagator holds it. */
export interface B3Context {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

const TRACE_ID = /^([0-9a-fA-F]{16}){1,2}$/;
const SPAN_ID = /^[0-9a-fA-F]{16}$/;
const SAMPLED_VALUES = new Set(['1', 'True', 'true', 'd']);

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Reads B3 from a request like the OpenTelemetry B3 propagator: the single `b3` header first, else
 * the `x-b3-*` headers (the parent span id and flags are not carried on). Invalid or all-zero ids
 * give no context.
 */
export function extractB3(headers: IncomingHttpHeaders): B3Context | undefined {
  let traceId: string | undefined;
  let spanId: string | undefined;
  let sampled: string | undefined;
  let flags: string | undefined;
  const single = header(headers, 'b3');
  if (single !== undefined) {
    const fields = single.split('-');
    if (fields.length === 1) return undefined;
    // Two fields defer the sampling decision; the propagator records that as sampled.
    [traceId, spanId, sampled = '1'] = fields;
  } else {
    traceId = header(headers, 'x-b3-traceid');
    spanId = header(headers, 'x-b3-spanid');
    sampled = header(headers, 'x-b3-sampled');
    flags = header(headers, 'x-b3-flags');
  }
  if (traceId === undefined || spanId === undefined || !TRACE_ID.test(traceId) || !SPAN_ID.test(spanId))
    return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return {
    traceId: traceId.toLowerCase(),
    spanId: spanId.toLowerCase(),
    sampled: (sampled !== undefined && SAMPLED_VALUES.has(sampled)) || flags === '1',
  };
}

/** Writes the context as B3 multi headers: the trace id as 32 hex digits, span id, sampled 1/0. */
export function injectB3(context: B3Context, into: Record<string, string>): void {
  into['x-b3-traceid'] = context.traceId.padStart(32, '0');
  into['x-b3-spanid'] = context.spanId;
  into['x-b3-sampled'] = context.sampled ? '1' : '0';
}
