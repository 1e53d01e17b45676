/**
 * Serves one parsed downstream request: virtual host and route selection, fault injection, direct
 * responses, cluster and endpoint choice, the upstream exchange with timeouts and retries, the
 * relay of the response, and one access log record + metrics sample at the end.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { applyMutations, flatten, forwardableHeaders, getHeader, type HeaderPairs, setHeader } from './headers.js';
import { explainMissingCluster, type LocalReply, localReplies, type ResponseFlag } from './local-reply.js';
import { type RequestBody, readRequestBody } from './request-body.js';
import { checkRequestHead } from './request-head.js';
import { type AttemptFailure, backoffMs, isRetriableFailure, isRetriableStatus } from './retry-decision.js';
import type { HttpCluster, HttpEndpoint, HttpRouterContext } from './router-context.js';
import { type RequestView, rewritePath, selectRoute, selectVirtualHost } from './select.js';
import type { CompiledRoute, CompiledVirtualHost, ForwardAction } from './types.js';
import { sendAttempt } from './upstream-attempt.js';
import type { UpstreamPools } from './upstream-pools.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Everything known about one request, filled in as it is served, logged at the end. */
export class RequestRecord {
  readonly startTime = new Date();
  readonly started = performance.now();
  readonly flags: ResponseFlag[] = [];
  details = 'via_upstream';
  responseCode = 0;
  bytesReceived = 0;
  bytesSent = 0;
  upstreamServiceTimeMs: number | undefined;
  upstreamHost: string | undefined;
  upstreamCluster: string | undefined;
  routeName: string | undefined;
  constructor(readonly requestId: string) {}
  flag(f: ResponseFlag): void {
    if (!this.flags.includes(f)) this.flags.push(f);
  }
}

function pickWeighted(action: ForwardAction): string {
  if (action.clusters.length === 1) return action.clusters[0]!.name;
  let r = Math.random() * action.totalWeight;
  for (const c of action.clusters) {
    if (r < c.weight) return c.name;
    r -= c.weight;
  }
  return action.clusters[action.clusters.length - 1]!.name;
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function requestView(req: http.IncomingMessage): RequestView {
  const raw = req.rawHeaders;
  return {
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    authority: req.headers.host ?? '',
    scheme: 'http',
    header(name: string) {
      const values: string[] = [];
      for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) values.push(raw[i + 1]!);
      return values.length === 0 ? undefined : values.join(',');
    },
  };
}

const records = new WeakMap<http.ServerResponse, RequestRecord>();

/** The record of the request a response belongs to (for the parser's error handler). */
export function recordFor(res: http.ServerResponse): RequestRecord | undefined {
  return records.get(res);
}

/** The per-request bounds the router enforces (see HttpServerLimits). */
export interface RequestLimits {
  /** bodies up to this size are buffered before going upstream */
  readonly bufferBodyBytes: number;
  /** header lines allowed in a request (431 above) and in an upstream response (502 above) */
  readonly maxHeadersCount: number;
}

export class RequestRouter {
  constructor(
    private readonly handoff: HttpRouterContext,
    private readonly pools: UpstreamPools,
    private readonly limits: RequestLimits,
  ) {}

  async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const view = requestView(req);
    const rec = new RequestRecord(view.header('x-request-id') ?? randomUUID());
    records.set(res, rec);
    const downstreamGone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) {
        if (rec.responseCode === 0 || !res.headersSent) rec.flag('DC');
        downstreamGone.abort();
      }
      this.#finish(req, view, rec);
    });
    try {
      await this.#route(req, res, view, rec, downstreamGone.signal);
    } catch (err) {
      // a bug, never a client's fault: answer like Envoy's internal errors and keep serving
      rec.details = `internal_error: ${(err as Error).message}`;
      if (!res.headersSent) this.#local(res, rec, { status: 500, body: '', flag: undefined, details: rec.details });
      else res.destroy();
    }
  }

  async #route(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    view: RequestView,
    rec: RequestRecord,
    gone: AbortSignal,
  ): Promise<void> {
    const refused = checkRequestHead(req, this.limits.maxHeadersCount);
    if (refused) {
      res.shouldKeepAlive = false;
      return this.#local(res, rec, refused);
    }
    const h = this.handoff;
    const routes = typeof h.routes === 'function' ? h.routes() : h.routes;
    const vh = routes ? selectVirtualHost(routes, view.authority) : undefined;
    const route = vh ? selectRoute(vh, view) : undefined;
    if (!vh || !route) return this.#local(res, rec, localReplies.noRoute);
    rec.routeName = route.name;

    const fault = route.fault;
    if (fault?.delay && fault.delay.ms > 0 && Math.random() < fault.delay.fraction) {
      rec.flag('DI');
      if (!(await sleep(fault.delay.ms, gone))) return;
    }
    if (fault?.abort && Math.random() < fault.abort.fraction)
      return this.#local(res, rec, localReplies.faultAbort(fault.abort.status), route);

    const action = route.action;
    if (action.kind === 'direct') return this.#local(res, rec, localReplies.direct(action.status, action.body), route);

    const clusterName = pickWeighted(action);
    rec.upstreamCluster = clusterName;
    const cluster = h.clusters.get(clusterName);
    if (!cluster)
      return this.#local(
        res,
        rec,
        localReplies.noCluster(action.clusterNotFoundStatus, clusterName, explainMissingCluster(clusterName)),
        route,
      );

    const body = await readRequestBody(req, this.limits.bufferBodyBytes);
    if (body.kind === 'failed') return; // the parser answers (400) and closes the connection
    rec.bytesReceived = body.kind === 'buffered' ? body.body.length : body.head.length;
    await this.#forward(req, res, view, rec, gone, vh, route, action, cluster, body);
    if (body.kind === 'streamed') rec.bytesReceived = body.received();
  }

  #upstreamHeaders(
    req: http.IncomingMessage,
    view: RequestView,
    rec: RequestRecord,
    route: CompiledRoute,
    action: ForwardAction,
    body: RequestBody,
  ): HeaderPairs {
    const headers = forwardableHeaders(req.rawHeaders);
    if (getHeader(headers, 'x-forwarded-proto') === undefined) headers.push(['x-forwarded-proto', view.scheme]);
    if (getHeader(headers, 'x-request-id') === undefined) headers.push(['x-request-id', rec.requestId]);
    applyMutations(headers, route.requestHeaders);
    if (action.hostRewrite !== undefined) setHeader(headers, 'host', action.hostRewrite);
    if (getHeader(headers, 'host') === undefined) headers.unshift(['host', view.authority]);
    const hadBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    if (body.kind === 'buffered' && hadBody) setHeader(headers, 'content-length', String(body.body.length));
    if (body.kind === 'streamed') setHeader(headers, 'transfer-encoding', 'chunked');
    return headers;
  }

  async #forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    view: RequestView,
    rec: RequestRecord,
    gone: AbortSignal,
    vh: CompiledVirtualHost,
    route: CompiledRoute,
    action: ForwardAction,
    cluster: HttpCluster,
    body: RequestBody,
  ): Promise<void> {
    const abort = new AbortController();
    const onGone = () => abort.abort();
    gone.addEventListener('abort', onGone, { once: true });
    let timedOut = false;
    const timer =
      action.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            abort.abort();
          }, action.timeoutMs)
        : undefined;
    const done = () => {
      clearTimeout(timer);
      gone.removeEventListener('abort', onGone);
    };

    const baseHeaders = this.#upstreamHeaders(req, view, rec, route, action, body);
    const path = rewritePath(route, view.path);
    const policy = action.retry;
    const replayable = body.kind === 'buffered';
    const tried = new Set<string>();
    let retriesLeft = policy?.numRetries ?? 0;
    let attempt = 0;
    let retried = false;

    for (;;) {
      attempt++;
      const endpoint = this.#pickEndpoint(cluster, policy?.avoidPreviousHosts ? tried : undefined);
      if (!endpoint) {
        done();
        return this.#local(res, rec, localReplies.noHealthyUpstream, route);
      }
      const hostKey = `${endpoint.address}:${endpoint.port}`;
      tried.add(hostKey);
      rec.upstreamHost = hostKey;
      const lease = this.pools.acquire(cluster, endpoint);
      if (!lease) {
        done();
        return this.#local(res, rec, localReplies.overflow, route);
      }
      const headers: HeaderPairs = baseHeaders.map(([n, v]) => [n, v]);
      if (vh.includeAttemptCount) setHeader(headers, 'x-envoy-attempt-count', String(attempt));
      let outcome = await sendAttempt({
        endpoint,
        agent: lease.agent,
        method: view.method,
        path,
        headers: flatten(headers),
        body,
        connectTimeoutMs: cluster.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        perTryTimeoutMs: policy?.perTryTimeoutMs ?? 0,
        maxHeadersCount: this.limits.maxHeadersCount,
        signal: abort.signal,
      });
      if (outcome.kind === 'reset' && outcome.staleReuse && replayable && !abort.signal.aborted) {
        // the pooled connection was closed by the upstream while idle: the request never reached it
        lease.release();
        attempt--;
        continue;
      }
      if (outcome.kind !== 'response') lease.release();

      if (outcome.kind === 'aborted') {
        done();
        if (timedOut) return this.#local(res, rec, localReplies.timeout, route);
        return; // downstream went away; logged as DC
      }

      const retriable =
        policy !== undefined &&
        (outcome.kind === 'response'
          ? isRetriableStatus(policy, outcome.res.statusCode ?? 0)
          : isRetriableFailure(policy, outcome.kind as AttemptFailure));
      if (retriable && retriesLeft > 0 && replayable) {
        const releaseRetry = this.pools.acquireRetry(cluster);
        if (releaseRetry) {
          retriesLeft--;
          retried = true;
          if (outcome.kind === 'response') {
            outcome.res.resume();
            outcome.res.once('end', () => lease.release());
            outcome.res.once('close', () => lease.release());
          }
          const waited = await sleep(backoffMs(attempt), abort.signal);
          releaseRetry();
          if (!waited) {
            done();
            if (timedOut) return this.#local(res, rec, localReplies.timeout, route);
            return;
          }
          continue;
        }
      }
      if (retriable && policy !== undefined) rec.flag('URX');

      switch (outcome.kind) {
        case 'connect-failure':
          done();
          return this.#local(res, rec, localReplies.connectFailure(retried, outcome.reason), route);
        case 'reset':
          done();
          return this.#local(res, rec, localReplies.upstreamReset(retried), route);
        case 'protocol-error':
          done();
          return this.#local(res, rec, localReplies.upstreamProtocolError(retried), route);
        case 'per-try-timeout':
          done();
          return this.#local(res, rec, localReplies.perTryTimeout, route);
        case 'response':
          outcome = outcome as Extract<typeof outcome, { kind: 'response' }>;
          return this.#relay(
            res,
            rec,
            route,
            outcome.res,
            outcome.serviceTimeMs,
            abort.signal,
            () => {
              done();
              lease.release();
            },
            () => timedOut,
          );
      }
    }
  }

  #pickEndpoint(cluster: HttpCluster, avoid: ReadonlySet<string> | undefined): HttpEndpoint | undefined {
    if (cluster.type === 'ORIGINAL_DST') return this.handoff.originalDestination;
    return cluster.pickEndpoint(avoid);
  }

  #relay(
    res: http.ServerResponse,
    rec: RequestRecord,
    route: CompiledRoute,
    upstream: http.IncomingMessage,
    serviceTimeMs: number,
    aborted: AbortSignal,
    finished: () => void,
    timedOut: () => boolean,
  ): Promise<void> {
    rec.upstreamServiceTimeMs = serviceTimeMs;
    rec.responseCode = upstream.statusCode ?? 502;
    const headers = forwardableHeaders(upstream.rawHeaders);
    setHeader(headers, 'x-envoy-upstream-service-time', String(serviceTimeMs));
    setHeader(headers, 'server', 'envoy');
    applyMutations(headers, route.responseHeaders);
    res.writeHead(rec.responseCode, upstream.statusMessage, flatten(headers));
    return new Promise((resolve) => {
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        aborted.removeEventListener('abort', onAbort);
        finished();
        resolve();
      };
      // the route timeout still runs while the body streams (Envoy): on expiry the stream is reset
      const onAbort = () => {
        if (timedOut()) rec.flag('UT');
        upstream.destroy();
        res.destroy();
        end();
      };
      aborted.addEventListener('abort', onAbort, { once: true });
      upstream.on('data', (chunk: Buffer) => {
        rec.bytesSent += chunk.length;
        if (!res.write(chunk)) {
          upstream.pause();
          res.once('drain', () => upstream.resume());
        }
      });
      upstream.on('end', () => {
        res.end();
        end();
      });
      upstream.on('aborted', () => {
        rec.flag('UC');
        res.destroy();
        end();
      });
      upstream.on('error', () => {
        rec.flag('UC');
        res.destroy();
        end();
      });
      upstream.on('close', () => {
        if (!upstream.complete) {
          rec.flag('UC');
          res.destroy();
        }
        end();
      });
    });
  }

  #local(res: http.ServerResponse, rec: RequestRecord, reply: LocalReply, route?: CompiledRoute): void {
    if (reply.flag) rec.flag(reply.flag);
    rec.details = reply.details;
    rec.responseCode = reply.status;
    if (res.headersSent || res.destroyed) return;
    const body = Buffer.from(reply.body);
    const headers: HeaderPairs = [['content-length', String(body.length)]];
    if (body.length > 0) headers.push(['content-type', 'text/plain']);
    headers.push(['server', 'envoy']);
    if (route) applyMutations(headers, route.responseHeaders);
    rec.bytesSent = body.length;
    res.writeHead(reply.status, flatten(headers));
    res.end(body);
  }

  #finish(req: http.IncomingMessage, view: RequestView, rec: RequestRecord): void {
    const durationMs = Math.round(performance.now() - rec.started);
    const flags = rec.flags.length === 0 ? '-' : rec.flags.join(',');
    const socket = req.socket;
    this.handoff.accessLog?.({
      startTime: rec.startTime,
      method: view.method,
      path: view.path,
      protocol: `HTTP/${req.httpVersion}`,
      responseCode: rec.responseCode,
      responseFlags: flags,
      responseCodeDetails: rec.details,
      bytesReceived: rec.bytesReceived,
      bytesSent: rec.bytesSent,
      durationMs,
      upstreamServiceTimeMs: rec.upstreamServiceTimeMs,
      xForwardedFor: view.header('x-forwarded-for'),
      userAgent: view.header('user-agent'),
      requestId: rec.requestId,
      authority: view.authority,
      upstreamHost: rec.upstreamHost,
      upstreamCluster: rec.upstreamCluster,
      routeName: rec.routeName,
      downstreamLocal: socket?.localAddress ? `${socket.localAddress}:${socket.localPort}` : undefined,
      downstreamRemote: socket?.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : undefined,
    });
    this.handoff.recordRequest?.({
      method: view.method,
      responseCode: rec.responseCode,
      responseFlags: flags,
      upstreamCluster: rec.upstreamCluster,
      durationMs,
      requestBytes: rec.bytesReceived,
      responseBytes: rec.bytesSent,
    });
  }
}
