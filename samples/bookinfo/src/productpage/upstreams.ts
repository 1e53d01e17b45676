import type { IncomingHttpHeaders } from 'node:http';
import { pickHeaders } from '../shared/forward-headers.js';
import { httpGet, parseJson } from '../shared/http-get.js';
import { extractB3, injectB3 } from './b3.js';
import type { RequestResultCounter } from './request-metrics.js';

/** Base URLs of the services the product page calls, e.g. http://details:9080. */
export interface UpstreamUrls {
  details: string;
  reviews: string;
  ratings: string;
}

/** `http://<X_HOSTNAME><.SERVICES_DOMAIN>:<X_SERVICE_PORT>`, defaults `<x>` and 9080. */
export function upstreamUrlsFromEnv(env: NodeJS.ProcessEnv): UpstreamUrls {
  const domain = env.SERVICES_DOMAIN === undefined ? '' : `.${env.SERVICES_DOMAIN}`;
  const url = (name: 'details' | 'reviews' | 'ratings') => {
    const upper = name.toUpperCase();
    const host = env[`${upper}_HOSTNAME`] ?? name;
    const port = env[`${upper}_SERVICE_PORT`] ?? '9080';
    return `http://${host}${domain}:${port}`;
  };
  return { details: url('details'), reviews: url('reviews'), ratings: url('ratings') };
}

/**
 * Headers copied from the request as they are. B3 is not in the list: it goes through the B3
 * propagator; `end-user` is not either: it comes from the session.
 */
const COPIED_HEADERS = [
  'x-request-id',
  'x-ot-span-context',
  'x-datadog-trace-id',
  'x-datadog-parent-id',
  'x-datadog-sampling-priority',
  'traceparent',
  'tracestate',
  'x-cloud-trace-context',
  'grpc-trace-bin',
  'sw8',
  'user-agent',
  'cookie',
  'authorization',
  'jwt',
] as const;

/** The headers of every upstream call made while serving `incoming` for `user`. */
export function forwardHeaders(incoming: IncomingHttpHeaders, user: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  const b3 = extractB3(incoming);
  if (b3 !== undefined) injectB3(b3, headers);
  if (user !== undefined && user !== '') headers['end-user'] = user;
  return { ...headers, ...pickHeaders(incoming, COPIED_HEADERS) };
}

/** An upstream result: the reply's JSON on 200, else the error object with the status to report. */
export interface UpstreamResult {
  status: number;
  body: unknown;
}

const TIMEOUT_MS = 3000;

/**
 * Calls the services like the original product page: details 3 s once, reviews 3 s up to twice
 * (kept on purpose: the fault-injection task relies on it), ratings 3 s once. A failure reports the
 * upstream status when there was a reply, else 500, with a fixed error sentence.
 */
export class ProductUpstreams {
  constructor(
    private readonly urls: UpstreamUrls,
    private readonly metrics: RequestResultCounter,
  ) {}

  details(productId: string, headers: Record<string, string>): Promise<UpstreamResult> {
    return this.call('details', `${this.urls.details}/details/${productId}`, headers, 1, 'details');
  }

  reviews(productId: string, headers: Record<string, string>): Promise<UpstreamResult> {
    return this.call('reviews', `${this.urls.reviews}/reviews/${productId}`, headers, 2, 'reviews');
  }

  ratings(productId: string, headers: Record<string, string>): Promise<UpstreamResult> {
    return this.call('ratings', `${this.urls.ratings}/ratings/${productId}`, headers, 1, 'ratings');
  }

  private async call(
    app: string,
    url: string,
    headers: Record<string, string>,
    attempts: number,
    what: string,
  ): Promise<UpstreamResult> {
    let status = 500;
    for (let attempt = 0; attempt < attempts; attempt++) {
      try {
        const reply = await httpGet(url, { headers, connectTimeoutMs: TIMEOUT_MS, readTimeoutMs: TIMEOUT_MS });
        const json = reply.status === 200 ? parseJson(reply.body) : undefined;
        if (json !== undefined) {
          this.metrics.inc(app, 200);
          return { status: 200, body: json };
        }
        // A 200 whose body is not JSON counts as a failure of the call.
        status = reply.status === 200 || reply.status === 0 ? 500 : reply.status;
      } catch (err) {
        console.error(`productpage: ${url} failed: ${(err as Error).message}`);
        status = 500;
      }
    }
    this.metrics.inc(app, status);
    return { status, body: { error: `Sorry, product ${what} are currently unavailable for this book.` } };
  }
}
