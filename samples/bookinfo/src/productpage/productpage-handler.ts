import type http from 'node:http';
import { pathOf, readBody } from '../shared/replies.js';
import { renderIndexPage } from './index-page.js';
import { renderProductPage } from './product-page.js';
import { getProducts } from './products.js';
import { pythonJsonDumps } from './python-json.js';
import { RequestResultCounter } from './request-metrics.js';
import { SESSION_COOKIE, SessionCodec } from './session-cookie.js';
import { loadStaticAssets } from './static-assets.js';
import { forwardHeaders, ProductUpstreams, type UpstreamUrls, upstreamUrlsFromEnv } from './upstreams.js';

export interface ProductPageConfig {
  urls: UpstreamUrls;
  /** FLOOD_FACTOR: extra reviews calls per page view, results ignored. */
  floodFactor: number;
  /** SESSION_SECRET: the session cookie's HMAC key; random per process when unset. */
  sessionSecret: string | undefined;
}

export function productPageConfigFromEnv(env: NodeJS.ProcessEnv): ProductPageConfig {
  const flood = Number.parseInt(env.FLOOD_FACTOR ?? '0', 10);
  return {
    urls: upstreamUrlsFromEnv(env),
    floodFactor: Number.isInteger(flood) && flood > 0 ? flood : 0,
    sessionSecret: env.SESSION_SECRET,
  };
}

const HTML = 'text/html; charset=utf-8';
const NOT_FOUND_HTML =
  '<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n';
const NOT_ALLOWED_HTML =
  '<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n';

function send(res: http.ServerResponse, status: number, contentType: string, body: string | Buffer, extra = {}): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

function redirectHtml(location: string): string {
  const href = location.replace(/&/g, '&amp;').replace(/"/g, '&#34;').replace(/</g, '&lt;');
  return `<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: <a href="${href}">${href}</a>. If not, click the link.\n`;
}

/** Where login and logout send the browser back to: the Referer, else the product page. */
function backTo(req: http.IncomingMessage): string {
  const referer = req.headers.referer;
  return referer !== undefined && referer !== '' ? referer : '/productpage';
}

/** The product page service: routes, session, upstream calls and metrics. */
export function createProductPageHandler(config: ProductPageConfig) {
  const metrics = new RequestResultCounter();
  const upstreams = new ProductUpstreams(config.urls, metrics);
  const sessions = new SessionCodec(config.sessionSecret);
  const assets = loadStaticAssets();
  const cookieAttrs = 'HttpOnly; Path=/; SameSite=Lax';

  const productPage = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const productId = 0;
    const user = sessions.decode(req.headers.cookie).user ?? '';
    const headers = forwardHeaders(req.headers, user);
    const product = getProducts()[productId];
    const details = await upstreams.details(String(productId), headers);
    if (config.floodFactor > 0) {
      await Promise.allSettled(
        Array.from({ length: config.floodFactor }, () => upstreams.reviews(String(productId), headers)),
      );
    }
    const reviews = await upstreams.reviews(String(productId), headers);
    send(res, 200, HTML, renderProductPage({ user, product, details, reviews }));
  };

  const login = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const form = new URLSearchParams(await readBody(req, 64 * 1024));
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const user = query.get('username') ?? form.get('username') ?? '';
    const location = backTo(req);
    send(res, 302, HTML, redirectHtml(location), {
      Location: location,
      'Set-Cookie': `${SESSION_COOKIE}=${sessions.encode({ user })}; ${cookieAttrs}`,
    });
  };

  const logout = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const location = backTo(req);
    send(res, 302, HTML, redirectHtml(location), {
      Location: location,
      'Set-Cookie': `${SESSION_COOKIE}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; ${cookieAttrs}`,
    });
  };

  const api = async (req: http.IncomingMessage, res: http.ServerResponse, rest: string): Promise<boolean> => {
    const headers = () => forwardHeaders(req.headers, sessions.decode(req.headers.cookie).user);
    if (rest === '') {
      send(res, 200, 'application/json', pythonJsonDumps(getProducts()));
      return true;
    }
    const match = /^\/([^/]+)(\/reviews|\/ratings)?$/.exec(rest);
    if (!match?.[1]) return false;
    const id = match[1];
    const result =
      match[2] === '/reviews'
        ? await upstreams.reviews(id, headers())
        : match[2] === '/ratings'
          ? await upstreams.ratings(id, headers())
          : await upstreams.details(id, headers());
    send(res, result.status, 'application/json', pythonJsonDumps(result.body));
    return true;
  };

  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = pathOf(req);
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    if (path === '/login') {
      if (method === 'POST') await login(req, res);
      else send(res, 405, HTML, NOT_ALLOWED_HTML, { Allow: 'OPTIONS, POST' });
      return;
    }
    if (method !== 'GET') {
      const known = ['/', '/index.html', '/health', '/productpage', '/logout', '/metrics'].includes(path);
      send(res, known ? 405 : 404, HTML, known ? NOT_ALLOWED_HTML : NOT_FOUND_HTML);
      return;
    }
    switch (path) {
      case '/':
      case '/index.html':
        send(res, 200, HTML, renderIndexPage(config.urls));
        return;
      case '/health':
        send(res, 200, 'text/plain; charset=utf-8', 'Product page is healthy');
        return;
      case '/productpage':
        await productPage(req, res);
        return;
      case '/logout':
        logout(req, res);
        return;
      case '/metrics':
        send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', metrics.render());
        return;
    }
    const asset = assets.get(path);
    if (asset !== undefined) {
      send(res, 200, asset.contentType, asset.body);
      return;
    }
    if (path === '/api/v1/products' || path.startsWith('/api/v1/products/')) {
      if (await api(req, res, path.slice('/api/v1/products'.length))) return;
    }
    send(res, 404, HTML, NOT_FOUND_HTML);
  };
}
