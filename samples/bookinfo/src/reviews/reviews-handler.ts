import type http from 'node:http';
import { PROPAGATED_HEADERS, pickHeaders } from '../shared/forward-headers.js';
import { pathOf, replyJson } from '../shared/replies.js';
import { fetchStars } from './ratings-client.js';
import { type ReviewsIdentity, reviewsJson } from './review-data.js';

export interface ReviewsConfig {
  /** ENABLE_RATINGS is "true" (any case): v2 and v3. */
  ratingsEnabled: boolean;
  /** STAR_COLOR, default black. */
  starColor: string;
  /** http://<RATINGS_HOSTNAME><.SERVICES_DOMAIN>:<RATINGS_SERVICE_PORT>/ratings */
  ratingsUrl: string;
  identity: ReviewsIdentity;
}

export function reviewsConfigFromEnv(env: NodeJS.ProcessEnv): ReviewsConfig {
  const domain = env.SERVICES_DOMAIN === undefined ? '' : `.${env.SERVICES_DOMAIN}`;
  const host = env.RATINGS_HOSTNAME ?? 'ratings';
  const port = env.RATINGS_SERVICE_PORT ?? '9080';
  return {
    ratingsEnabled: (env.ENABLE_RATINGS ?? '').toLowerCase() === 'true',
    starColor: env.STAR_COLOR ?? 'black',
    ratingsUrl: `http://${host}${domain}:${port}/ratings`,
    identity: { podname: env.HOSTNAME ?? 'null', clustername: env.CLUSTER_NAME ?? 'null' },
  };
}

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

/** A path parameter converted like a JAX-RS `int`; undefined means the route does not match (404). */
function javaInt(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const value = Number(text);
  return value >= INT_MIN && value <= INT_MAX ? value : undefined;
}

export function createReviewsHandler(config: ReviewsConfig) {
  const timeoutMs = config.starColor === 'black' ? 10_000 : 2500;
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = pathOf(req);
    const isGet = req.method === 'GET' || req.method === 'HEAD';
    if (isGet && path === '/health') {
      replyJson(res, 200, '{"status": "Reviews is healthy"}');
      return;
    }
    const match = /^\/reviews\/([^/]+)$/.exec(path);
    const productId = match?.[1] === undefined ? undefined : javaInt(match[1]);
    if (productId === undefined || !isGet) {
      res.writeHead(productId === undefined ? 404 : 405);
      res.end();
      return;
    }
    const stars = config.ratingsEnabled
      ? await fetchStars(
          { baseUrl: config.ratingsUrl, timeoutMs },
          productId,
          pickHeaders(req.headers, PROPAGATED_HEADERS),
        )
      : {};
    replyJson(
      res,
      200,
      reviewsJson(productId, config.identity, { enabled: config.ratingsEnabled, color: config.starColor, stars }),
    );
  };
}
