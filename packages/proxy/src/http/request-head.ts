/**
 * Checks on a parsed request head that Node's strict parser does not make itself: the number of
 * header lines (Node keeps only the first ~1,000 and drops the rest without a word, so the proxy
 * collects them all and refuses a head over its own limit) and the `Host` rules of RFC 9112 §3.2
 * (exactly one `Host` line on HTTP/1.1, with a valid value). Pure: returns the local reply to send,
 * or undefined when the head may be routed.
 */
import { type LocalReply, localReplies } from './local-reply.js';

/** Envoy's default `max_headers_count`, for requests and for upstream responses alike. */
export const DEFAULT_MAX_HEADERS_COUNT = 100;

// uri-host [ ":" port ]: a bracketed IP literal or a reg-name / IPv4 (RFC 3986 §3.2.2), empty allowed
const validHost = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(:[0-9]*)?$/;

export interface RequestHead {
  readonly httpVersion: string;
  /** Node's `rawHeaders`: name, value, name, value, … as received */
  readonly rawHeaders: readonly string[];
}

/** Number of header lines in a raw [name, value, …] list. */
export function headerCount(rawHeaders: readonly string[]): number {
  return rawHeaders.length >> 1;
}

/** The local reply a request head must get before routing, or undefined when it may be routed. */
export function checkRequestHead(head: RequestHead, maxHeadersCount: number): LocalReply | undefined {
  if (headerCount(head.rawHeaders) > maxHeadersCount) return localReplies.tooManyHeaders;
  const hosts: string[] = [];
  for (let i = 0; i + 1 < head.rawHeaders.length; i += 2)
    if (head.rawHeaders[i]!.toLowerCase() === 'host') hosts.push(head.rawHeaders[i + 1]!);
  if (hosts.length > 1) return localReplies.multipleHosts;
  if (hosts.length === 0) return head.httpVersion === '1.1' ? localReplies.missingHost : undefined;
  if (!validHost.test(hosts[0]!)) return localReplies.invalidHost;
  return undefined;
}
