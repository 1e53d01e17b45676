import type http from 'node:http';
import { PROPAGATED_HEADERS, pickHeaders } from '../shared/forward-headers.js';
import { pathOf, replyJson } from '../shared/replies.js';
import { builtInDetailsJson, externalDetailsJson } from './book-details.js';
import { rubyInteger } from './ruby-integer.js';

export interface DetailsConfig {
  /** ENABLE_EXTERNAL_BOOK_SERVICE exactly "true". */
  external: boolean;
  /** DO_NOT_ENCRYPT exactly "true". */
  plainHttp: boolean;
}

export function detailsConfigFromEnv(env: NodeJS.ProcessEnv): DetailsConfig {
  return { external: env.ENABLE_EXTERNAL_BOOK_SERVICE === 'true', plainHttp: env.DO_NOT_ENCRYPT === 'true' };
}

/** True when `path` is `mount` or lies below it (how a WEBrick mount matches). */
function under(path: string, mount: string): boolean {
  return path === mount || path.startsWith(`${mount}/`);
}

/** The last non-empty path segment, as Ruby's `String#split('/')` leaves it. */
function lastSegment(path: string): string {
  const parts = path.split('/');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts[parts.length - 1] ?? '';
}

export function createDetailsHandler(config: DetailsConfig) {
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    let path: string;
    try {
      path = decodeURIComponent(pathOf(req));
    } catch {
      path = pathOf(req);
    }
    if (under(path, '/health')) {
      replyJson(res, 200, JSON.stringify({ status: 'Details is healthy' }));
      return;
    }
    if (!under(path, '/details')) {
      const body = `<HTML><HEAD><TITLE>Not Found</TITLE></HEAD><BODY><H1>Not Found</H1>\`${escapeHtml(path)}' not found.</BODY></HTML>\n`;
      res.writeHead(404, { 'Content-Type': 'text/html; charset=ISO-8859-1' });
      res.end(body);
      return;
    }
    const id = rubyInteger(lastSegment(path));
    if (id === undefined) {
      replyJson(res, 400, JSON.stringify({ error: 'please provide numeric product id' }));
      return;
    }
    try {
      const body = config.external
        ? await externalDetailsJson(id, {
            plainHttp: config.plainHttp,
            headers: pickHeaders(req.headers, PROPAGATED_HEADERS),
          })
        : builtInDetailsJson(id);
      replyJson(res, 200, body);
    } catch (err) {
      replyJson(res, 400, JSON.stringify({ error: (err as Error).message }));
    }
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
