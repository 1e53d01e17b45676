import { httpGet, parseJson } from '../shared/http-get.js';
import type { StarsByReviewer } from './review-data.js';

export interface RatingsClientConfig {
  /** e.g. http://ratings:9080/ratings */
  baseUrl: string;
  /** Connect and receive timeout: 10 s for black stars (v2), 2.5 s otherwise (v3). */
  timeoutMs: number;
}

/**
 * Asks ratings for a product's stars. Any failure (connection, timeout, non-200, no `ratings`
 * object) gives an empty result; reviewers missing from the reply are missing here too.
 */
export async function fetchStars(
  config: RatingsClientConfig,
  productId: number,
  headers: Record<string, string>,
): Promise<StarsByReviewer> {
  const url = `${config.baseUrl}/${productId}`;
  try {
    const reply = await httpGet(url, {
      headers: { ...headers, accept: 'application/json' },
      connectTimeoutMs: config.timeoutMs,
      readTimeoutMs: config.timeoutMs,
    });
    if (reply.status !== 200) {
      console.log(`Error: unable to contact ${config.baseUrl} got status of ${reply.status}`);
      return {};
    }
    const json = parseJson(reply.body) as { ratings?: unknown } | undefined;
    const ratings = json?.ratings;
    if (typeof ratings !== 'object' || ratings === null) return {};
    const stars: StarsByReviewer = {};
    for (const reviewer of ['Reviewer1', 'Reviewer2'] as const) {
      const value = (ratings as Record<string, unknown>)[reviewer];
      if (typeof value === 'number' && Number.isFinite(value)) stars[reviewer] = Math.trunc(value);
    }
    return stars;
  } catch (err) {
    console.error(`Error: unable to contact ${config.baseUrl} got exception ${(err as Error).message}`);
    return {};
  }
}
