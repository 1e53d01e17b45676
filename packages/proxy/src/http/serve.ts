/**
 * Serves downstream HTTP/1.1 connections with Node's own strict parser: a non-listening
 * `http.Server` (one per set of limits, shared by all connections) is handed each socket with
 * `emit('connection')`. Keep-alive, pipelining order and request framing are Node's; malformed
 * requests (smuggling attempts, bad chunks, obs-fold, oversized headers, slow headers) get 400,
 * 431 or 408 and the connection is closed without anything reaching an upstream.
 */
import http from 'node:http';
import type net from 'node:net';
import { DEFAULT_MAX_HEADERS_COUNT } from './request-head.js';
import { RequestRouter, recordFor } from './router.js';
import type { HttpRouterContext, HttpServerLimits } from './router-context.js';
import { defaultUpstreamPools } from './upstream-pools.js';

const defaults: Required<HttpServerLimits> = {
  maxHeaderBytes: 60 * 1024,
  maxHeadersCount: DEFAULT_MAX_HEADERS_COUNT,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 300_000,
  idleTimeoutMs: 3_600_000,
  bufferBodyBytes: 1024 * 1024,
};

const routers = new WeakMap<net.Socket, RequestRouter>();
const handoffs = new WeakMap<net.Socket, HttpRouterContext>();
const servers = new Map<string, http.Server>();
/** Responses not yet finished on each connection, in request order (pipelined ones wait their turn). */
const owed = new WeakMap<net.Socket, http.ServerResponse[]>();
/** Connections whose parser failed: it reports the same error again for every later chunk. */
const failed = new WeakSet<net.Socket>();

function clientErrorStatus(err: NodeJS.ErrnoException): number {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 431;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

/** Tracks `res` as owed on its connection until it finishes or closes. */
function trackOwed(socket: net.Socket, res: http.ServerResponse): void {
  let list = owed.get(socket);
  if (!list) {
    list = [];
    owed.set(socket, list);
  }
  list.push(res);
  const settle = () => {
    const i = list.indexOf(res);
    if (i >= 0) list.splice(i, 1);
  };
  res.once('finish', settle);
  res.once('close', settle);
}

/**
 * The parser failed on a connection (malformed or oversized request, slow headers). Requests parsed
 * before the failure are still answered, in order; then the failure gets its own answer and the
 * connection closes. Nothing after the failure is read as a request.
 */
function onClientError(err: NodeJS.ErrnoException, socket: net.Socket): void {
  if (failed.has(socket)) return;
  failed.add(socket);
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = clientErrorStatus(err);
  const details = `http1.codec_error: ${err.code ?? err.message}`;
  const pending = owed.get(socket) ?? [];
  const last = pending[pending.length - 1];
  if (!last) {
    answerOnSocket(socket, status, details);
    return;
  }
  const rec = recordFor(last);
  if (!last.req.complete && !last.headersSent && rec) {
    // the failure is in the last request's body: it never went upstream (see request-body.ts). Its
    // answer goes out after the ones before it; Node closes the connection after it (connection: close).
    rec.flag('DPE');
    rec.details = details;
    rec.responseCode = status;
    last.shouldKeepAlive = false;
    last.writeHead(status, { 'content-length': '0', connection: 'close' });
    last.end();
    return;
  }
  const failedInBody = !last.req.complete;
  last.once('finish', () => {
    if (!socket.writable) return; // the last answer closed the connection (connection: close)
    // a failed body whose answer had already begun gets no second answer
    if (failedInBody) socket.destroySoon();
    // after the tick in which Node emits the answered response's 'close' (its access-log line)
    else process.nextTick(() => socket.writable && answerOnSocket(socket, status, details));
  });
}

/** Writes a bare error response on the connection, closes it, and logs it (no request object exists). */
function answerOnSocket(socket: net.Socket, status: number, details: string): void {
  const handoff = handoffs.get(socket);
  const started = new Date();
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
  socket.destroySoon?.();
  handoff?.accessLog?.({
    startTime: started,
    method: '-',
    path: '-',
    protocol: 'HTTP/1.1',
    responseCode: status,
    responseFlags: 'DPE',
    responseCodeDetails: details,
    bytesReceived: 0,
    bytesSent: 0,
    durationMs: 0,
    upstreamServiceTimeMs: undefined,
    xForwardedFor: undefined,
    userAgent: undefined,
    requestId: '-',
    authority: '-',
    upstreamHost: undefined,
    upstreamCluster: undefined,
    routeName: undefined,
    downstreamLocal: socket.localAddress ? `${socket.localAddress}:${socket.localPort}` : undefined,
    downstreamRemote: socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : undefined,
  });
  handoff?.recordRequest?.({
    method: '-',
    responseCode: status,
    responseFlags: 'DPE',
    upstreamCluster: undefined,
    durationMs: 0,
    requestBytes: 0,
    responseBytes: 0,
  });
}

function serverFor(limits: Required<HttpServerLimits>): http.Server {
  const key = JSON.stringify(limits);
  let server = servers.get(key);
  if (server) return server;
  server = http.createServer({
    insecureHTTPParser: false,
    maxHeaderSize: limits.maxHeaderBytes,
    // checked by the router so the rejection is logged (Envoy: missing_host_header)
    requireHostHeader: false,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    noDelay: true,
  });
  // Node's default keeps about 1,000 header lines and drops the rest without a word; the router
  // counts them all and refuses a request over `maxHeadersCount` with 431
  server.maxHeadersCount = 0;
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    trackOwed(req.socket, res);
    const router = routers.get(req.socket);
    if (!router) {
      res.writeHead(503, { 'content-length': '0', connection: 'close' }).end();
      return;
    }
    void router.serve(req, res);
  });
  server.on('clientError', onClientError);
  // A server that never listens only checks header/request timeouts after 'listening' (Node 20).
  server.emit('listening');
  servers.set(key, server);
  return server;
}

/**
 * Serves one downstream HTTP/1.1 connection until it closes: replays `ctx.initialData`, then
 * parses requests strictly and routes each by `ctx.routes`. Returns at once.
 */
export function serveWithContext(socket: net.Socket, handoff: HttpRouterContext): void {
  if (handoff.signal) {
    if (handoff.signal.aborted) {
      socket.destroy();
      return;
    }
    const onAbort = () => socket.destroy();
    handoff.signal.addEventListener('abort', onAbort, { once: true });
    socket.once('close', () => handoff.signal?.removeEventListener('abort', onAbort));
  }
  const limits = { ...defaults, ...definedOnly(handoff.limits ?? {}) };
  const pools = handoff.upstreams ?? defaultUpstreamPools();
  const requestLimits = { bufferBodyBytes: limits.bufferBodyBytes, maxHeadersCount: limits.maxHeadersCount };
  routers.set(socket, new RequestRouter(handoff, pools, requestLimits));
  handoffs.set(socket, handoff);
  if (handoff.initialData && handoff.initialData.length > 0) socket.unshift(handoff.initialData);
  serverFor(limits).emit('connection', socket);
  socket.resume();
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Closes the shared parser servers' timers (for a proxy shutting down). Connections are not touched. */
export function stopHttpServers(): void {
  for (const s of servers.values()) s.close();
  servers.clear();
}
