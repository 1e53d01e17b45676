/**
 * The Kubernetes-style API server: HTTPS with a bearer token (plain HTTP only when asked, then
 * unauthenticated and loopback-only), discovery, REST for every kind in KINDS, watch, Tables,
 * and the debug endpoints of the xDS server. It must not translate or push config itself.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Store } from '@sluice/store';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DEFAULT_MAX_BODY_BYTES } from './body.js';
import { ClusterIpAllocator } from './cluster-ip.js';
import { apiGroupDocument, apiGroupList, apiResourceList, apiVersions, groupNames, versionInfo } from './discovery.js';
import { closeAfterResponse } from './lingering-close.js';
import { pathSegments, splitRequestTarget } from './request-path.js';
import { getObject, listObjects, type WatchRegistry, watchObjects } from './resource-read.js';
import {
  createObject,
  deleteCollection,
  deleteObject,
  patchObject,
  replaceObject,
  type WriteCall,
  type WriteContext,
} from './resource-write.js';
import { sendError, sendJson } from './respond.js';
import { groupVersionExists, resourceTarget } from './routes.js';
import { ApiError, errors } from './status.js';

/** What the xDS server offers the API's debug endpoints. */
export interface DebugSource {
  statuses(): unknown;
  /** undefined when no proxy with that id is connected. */
  configDump(proxyId: string): unknown;
  waitForAcks(opts: { version?: string; timeoutMs: number }): Promise<unknown>;
}

/** Longest `/debug/wait_for_acks` may hold a request. */
const MAX_ACK_WAIT_SECONDS = 300;

export interface ApiServerOptions {
  store: Store;
  logger: Logger;
  host: string;
  port: number;
  /** TLS key and certificate (PEM) plus the bearer token. Omit both for plain, unauthenticated HTTP. */
  tls?: { key: string; cert: string };
  token?: string;
  maxBodyBytes?: number;
  debug?: () => DebugSource | undefined;
  /** Served at `/metrics` (Prometheus text), behind the same authentication as the rest. */
  metrics?: Registry;
}

export class ApiServerError extends Error {
  constructor(
    readonly code: 'InsecureNotLoopback' | 'MissingToken' | 'ListenFailed',
    message: string,
  ) {
    super(message);
    this.name = 'ApiServerError';
  }
}

const OPENAPI_ETAG = '"sluice-openapi-v2-empty"';

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

export class ApiServer {
  private readonly server: http.Server | https.Server;
  private readonly sockets = new Set<Socket>();
  private readonly watches: WatchRegistry = new Set();
  private readonly writes: WriteContext;
  private readonly tokenDigest?: Buffer;
  private closing?: Promise<void>;

  constructor(private readonly opts: ApiServerOptions) {
    if (!opts.tls && !isLoopback(opts.host))
      throw new ApiServerError(
        'InsecureNotLoopback',
        `plain HTTP has no authentication and is only allowed on a loopback address (got ${opts.host})`,
      );
    if (opts.tls && !opts.token) throw new ApiServerError('MissingToken', 'an HTTPS API server needs a bearer token');
    if (opts.token) this.tokenDigest = createHash('sha256').update(opts.token).digest();
    this.writes = {
      store: opts.store,
      clusterIps: new ClusterIpAllocator(opts.store),
      log: opts.logger,
      maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    };
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    this.server = opts.tls
      ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, handler)
      : http.createServer(handler);
    this.server.on(opts.tls ? 'secureConnection' : 'connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.on('tlsClientError', (err: Error) => opts.logger.debug({ err: err.message }, 'TLS handshake failed'));
  }

  get secure(): boolean {
    return !!this.opts.tls;
  }

  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) =>
        reject(
          new ApiServerError(
            'ListenFailed',
            `API server cannot listen on ${this.opts.host}:${this.opts.port}: ${err.message}`,
          ),
        );
      this.server.once('error', onError);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    const addr = this.address();
    if (!this.opts.tls)
      this.opts.logger.warn(
        { address: addr.address, port: addr.port },
        'INSECURE: the API server speaks plain HTTP WITHOUT AUTHENTICATION; anyone on this machine can change the mesh config',
      );
    return addr;
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** Stops accepting, ends watch streams, waits for in-flight requests. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const res of this.watches) res.end();
      this.watches.clear();
      this.server.closeIdleConnections();
    });
    return this.closing;
  }

  /** Drops every connection at once. Idempotent. */
  destroy(): void {
    void this.close();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.tokenDigest) return true;
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) return false;
    return timingSafeEqual(createHash('sha256').update(m[1]!).digest(), this.tokenDigest);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { rawPath, url } = splitRequestTarget(req.url ?? '/');
    const call: WriteCall = { req, res, url, target: undefined as never, warnings: [] };
    const started = Date.now();
    try {
      if (!this.authorized(req)) throw errors.unauthorized();
      await this.route(call, rawPath);
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : errors.internal((err as Error).message);
      if (apiErr.httpStatus >= 500)
        this.opts.logger.error({ err: (err as Error).stack, method: req.method, path: rawPath }, 'request failed');
      // The rest of the body is never read: close, but only once the client could read the answer.
      if (apiErr.code === 'RequestEntityTooLarge') closeAfterResponse(req, res);
      sendError(res, apiErr, call.warnings);
    } finally {
      this.opts.logger.debug(
        { method: req.method, path: rawPath, status: res.statusCode, ms: Date.now() - started },
        'request',
      );
    }
  }

  private async route(call: WriteCall, rawPath: string): Promise<void> {
    const { req, res, url } = call;
    const segs = pathSegments(rawPath);
    const path = `/${segs.join('/')}`;
    const method = req.method ?? 'GET';
    const getOnly = () => {
      if (method !== 'GET') throw errors.methodNotAllowed(method);
    };
    const fixed = this.fixedEndpoint(path, call);
    if (fixed) {
      if (method !== 'GET') throw errors.methodNotAllowed(method);
      return fixed();
    }
    if (segs[0] === 'api' && segs.length === 2) {
      getOnly();
      if (segs[1] !== 'v1') throw errors.pathNotFound();
      return sendJson(res, 200, apiResourceList('', 'v1'));
    }
    if (segs[0] === 'apis' && segs.length === 2) {
      getOnly();
      if (!groupNames().includes(segs[1]!)) throw errors.pathNotFound();
      return sendJson(res, 200, apiGroupDocument(segs[1]!));
    }
    if (segs[0] === 'apis' && segs.length === 3) {
      getOnly();
      if (!groupVersionExists(segs[1]!, segs[2]!)) throw errors.pathNotFound();
      return sendJson(res, 200, apiResourceList(segs[1]!, segs[2]!));
    }
    const target = resourceTarget(segs);
    if (!target) throw errors.pathNotFound();
    call.target = target;
    if (target.subresource !== undefined && target.subresource !== 'status') throw errors.pathNotFound();
    const watch = ['true', '1'].includes(url.searchParams.get('watch') ?? '');
    const named = target.name !== undefined;
    switch (method) {
      case 'GET':
        if (watch) {
          if (named)
            throw errors.badRequest('watch a single object with ?fieldSelector=metadata.name=NAME on its collection');
          return watchObjects(this.opts.store, call, this.watches, this.opts.logger);
        }
        return named ? getObject(this.opts.store, call) : listObjects(this.opts.store, call);
      case 'POST':
        if (named) throw errors.methodNotAllowed(method);
        return createObject(this.writes, call);
      case 'PUT':
        if (!named) throw errors.methodNotAllowed(method);
        return replaceObject(this.writes, call);
      case 'PATCH':
        if (!named) throw errors.methodNotAllowed(method);
        return patchObject(this.writes, call);
      case 'DELETE':
        if (target.subresource) throw errors.methodNotAllowed(method);
        return named ? deleteObject(this.writes, call) : deleteCollection(this.writes, call);
      default:
        throw errors.methodNotAllowed(method);
    }
  }

  /** GET-only endpoints at fixed paths: discovery roots, version, health, OpenAPI, metrics, debug. */
  private fixedEndpoint(path: string, call: WriteCall): (() => void | Promise<void>) | undefined {
    const { req, res, url } = call;
    switch (path) {
      case '/api':
        return () => sendJson(res, 200, apiVersions(this.serverAddress()));
      case '/apis':
        return () => sendJson(res, 200, apiGroupList());
      case '/version':
        return () => sendJson(res, 200, versionInfo());
      case '/healthz':
      case '/readyz':
      case '/livez':
        return () => this.sendText(res, 'ok');
      case '/openapi/v2':
        return () => this.sendOpenApi(req, res);
      case '/metrics':
        return () => this.sendMetrics(res);
      case '/debug/syncz':
        return () => this.sendDebug(res, (d) => d.statuses());
      case '/debug/config_dump':
        return () => {
          const proxyId = url.searchParams.get('proxyID') ?? url.searchParams.get('proxyId');
          if (!proxyId) throw errors.badRequest('the proxyID query parameter is required');
          return this.sendDebug(res, (d) => {
            const dump = d.configDump(proxyId);
            if (dump === undefined) throw new ApiError(404, 'NotFound', `no proxy "${proxyId}" is connected`);
            return dump;
          });
        };
      case '/debug/wait_for_acks':
        return () => {
          const seconds = Number(url.searchParams.get('timeoutSeconds') ?? '30');
          if (!Number.isFinite(seconds) || seconds < 0 || seconds > MAX_ACK_WAIT_SECONDS)
            throw errors.badRequest(`timeoutSeconds must be between 0 and ${MAX_ACK_WAIT_SECONDS}`);
          const version = url.searchParams.get('version');
          return this.sendDebug(res, (d) =>
            d.waitForAcks(version ? { version, timeoutMs: seconds * 1000 } : { timeoutMs: seconds * 1000 }),
          );
        };
      default:
        return undefined;
    }
  }

  private serverAddress(): string {
    const a = this.address();
    return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  private sendText(res: ServerResponse, text: string): void {
    res.writeHead(200, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
    });
    res.end(text);
  }

  private async sendMetrics(res: ServerResponse): Promise<void> {
    const registry = this.opts.metrics;
    if (!registry) throw errors.pathNotFound();
    const text = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType, 'content-length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  /** An empty protobuf OpenAPI document: kubectl accepts it and skips client-side schema checks. */
  private sendOpenApi(req: IncomingMessage, res: ServerResponse): void {
    if (req.headers['if-none-match'] === OPENAPI_ETAG) {
      res.writeHead(304, { etag: OPENAPI_ETAG, 'content-length': '0' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '0', etag: OPENAPI_ETAG });
    res.end();
  }

  private async sendDebug(res: ServerResponse, read: (d: DebugSource) => unknown): Promise<void> {
    const source = this.opts.debug?.();
    if (!source) throw errors.unavailable('no xDS server is running in this control plane');
    sendJson(res, 200, await read(source));
  }
}
