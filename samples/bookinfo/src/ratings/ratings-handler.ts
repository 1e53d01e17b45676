import type http from 'node:http';
import { pathOf, readBody, replyJson } from '../shared/replies.js';
import { DELAY_MS, RatingsCondition } from './fault-modes.js';
import { type MysqlSettings, mysqlSettingsFromEnv, replyFromMysql } from './mysql-ratings.js';

export interface RatingsConfig {
  /** SERVICE_VERSION (v1 when unset). */
  version: string;
  /** DB_TYPE exactly "mysql" (else v2 means MongoDB). */
  mysql: boolean;
  mysqlSettings: MysqlSettings;
  /** Source of randomness for v-faulty and v-delayed; Math.random by default. */
  random?: () => number;
}

export function ratingsConfigFromEnv(env: NodeJS.ProcessEnv): RatingsConfig {
  return {
    version: env.SERVICE_VERSION ?? 'v1',
    mysql: env.DB_TYPE === 'mysql',
    mysqlSettings: mysqlSettingsFromEnv(env),
  };
}

const RATINGS_ROUTE = /^\/ratings\/[0-9]*/;

/** The ratings service: returns the request handler and a `close()` for its timers. */
export function createRatingsService(config: RatingsConfig) {
  const condition = new RatingsCondition(config.version);
  const random = config.random ?? Math.random;
  const posted = new Map<number, { id: number; ratings: unknown }>();

  const local = (productId: number) =>
    posted.get(productId) ?? { id: productId, ratings: { Reviewer1: 5, Reviewer2: 4 } };
  const replyLocal = (res: http.ServerResponse, productId: number) =>
    replyJson(res, 200, JSON.stringify(local(productId)));
  const replyUnavailable = (res: http.ServerResponse) =>
    replyJson(res, 503, JSON.stringify({ error: 'Service unavailable' }));

  const getRatings = (res: http.ServerResponse, productId: number) => {
    switch (config.version) {
      case 'v2':
        if (config.mysql) {
          replyFromMysql(res, productId, config.mysqlSettings);
        } else {
          // The MongoDB backend is not part of this re-implementation: it fails like an unreachable MongoDB.
          replyJson(res, 500, JSON.stringify({ error: 'could not connect to ratings database' }));
        }
        return;
      case 'v-faulty':
        if (random() <= 0.5) replyUnavailable(res);
        else replyLocal(res, productId);
        return;
      case 'v-delayed':
        if (random() <= 0.5) setTimeout(() => replyLocal(res, productId), DELAY_MS);
        else replyLocal(res, productId);
        return;
      case 'v-unavailable':
      case 'v-unhealthy':
        if (condition.unavailable) replyUnavailable(res);
        else replyLocal(res, productId);
        return;
      default:
        replyLocal(res, productId);
    }
  };

  const handler = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = pathOf(req);
    const url = req.url ?? '/';
    const productId = Number.parseInt(url.split('/').pop() ?? '', 10);
    if (req.method === 'POST' && RATINGS_ROUTE.test(path)) {
      const body = await readBody(req);
      if (Number.isNaN(productId)) {
        replyJson(res, 400, JSON.stringify({ error: 'please provide numeric product ID' }));
        return;
      }
      let ratings: unknown;
      try {
        ratings = JSON.parse(body) as unknown;
      } catch {
        replyJson(res, 400, JSON.stringify({ error: 'please provide valid ratings JSON' }));
        return;
      }
      if (config.version === 'v2') {
        replyJson(res, 501, JSON.stringify({ error: 'Post not implemented for database backed ratings' }));
        return;
      }
      posted.set(productId, { id: productId, ratings });
      replyLocal(res, productId);
      return;
    }
    if (req.method === 'GET' && RATINGS_ROUTE.test(path)) {
      if (Number.isNaN(productId)) {
        replyJson(res, 400, JSON.stringify({ error: 'please provide numeric product ID' }));
        return;
      }
      getRatings(res, productId);
      return;
    }
    if (req.method === 'GET' && path === '/health') {
      if (condition.healthy) replyJson(res, 200, JSON.stringify({ status: 'Ratings is healthy' }));
      else replyJson(res, 500, JSON.stringify({ status: 'Ratings is not healthy' }));
      return;
    }
    res.writeHead(404);
    res.end();
  };

  return { handler, close: () => condition.close() };
}
