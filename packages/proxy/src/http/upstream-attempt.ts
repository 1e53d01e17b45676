/**
 * One try of a request against one upstream endpoint, through that endpoint's keep-alive pool.
 * Resolves (never rejects) with what happened before the response headers arrived.
 */
import http from 'node:http';
import type { RequestBody } from './request-body.js';
import type { HttpEndpoint } from './router-context.js';

export type AttemptOutcome =
  | {
      readonly kind: 'response';
      readonly res: http.IncomingMessage;
      readonly req: http.ClientRequest;
      readonly serviceTimeMs: number;
    }
  | { readonly kind: 'connect-failure'; readonly reason: string }
  | { readonly kind: 'reset'; readonly staleReuse: boolean }
  /** the response head broke a limit (more header lines than allowed): never relayed, connection dropped */
  | { readonly kind: 'protocol-error' }
  | { readonly kind: 'per-try-timeout' }
  | { readonly kind: 'aborted' };

export interface AttemptOptions {
  readonly endpoint: HttpEndpoint;
  readonly agent: http.Agent;
  readonly method: string;
  readonly path: string;
  /** flat [name, value, ...] list, Host included */
  readonly headers: string[];
  readonly body: RequestBody;
  readonly connectTimeoutMs: number;
  readonly perTryTimeoutMs: number;
  /** header lines allowed in the response; Node's own limit (about 1,000) is lifted so none is dropped */
  readonly maxHeadersCount: number;
  readonly signal: AbortSignal;
}

function connectReason(err: NodeJS.ErrnoException | undefined): string {
  if (err?.code === 'SLUICE_CONNECT_TIMEOUT') return 'connection timeout';
  const errno = err?.errno !== undefined ? Math.abs(err.errno) : undefined;
  return `remote connection failure, transport failure reason: delayed connect error: ${errno ?? err?.code ?? 'unknown'}`;
}

export function sendAttempt(o: AttemptOptions): Promise<AttemptOutcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    let settled = false;
    let connected = false;
    let connectTimer: NodeJS.Timeout | undefined;
    let tryTimer: NodeJS.Timeout | undefined;
    const settle = (outcome: AttemptOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(tryTimer);
      o.signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const req = http.request({
      host: o.endpoint.address,
      port: o.endpoint.port,
      method: o.method,
      path: o.path,
      headers: o.headers,
      agent: o.agent,
      setHost: false,
    });
    // Node's default keeps the first 1,000 or so response headers and drops the rest silently
    req.maxHeadersCount = 0;
    const onAbort = () => {
      req.destroy();
      settle({ kind: 'aborted' });
    };
    o.signal.addEventListener('abort', onAbort);
    if (o.signal.aborted) return onAbort();
    if (o.perTryTimeoutMs > 0) {
      tryTimer = setTimeout(() => {
        req.destroy();
        settle({ kind: 'per-try-timeout' });
      }, o.perTryTimeoutMs);
    }
    req.on('socket', (socket) => {
      if (!socket.connecting) {
        connected = true;
        return;
      }
      connectTimer = setTimeout(() => {
        const err = Object.assign(new Error('connect timeout'), { code: 'SLUICE_CONNECT_TIMEOUT' });
        req.destroy(err);
      }, o.connectTimeoutMs);
      socket.once('connect', () => {
        connected = true;
        clearTimeout(connectTimer);
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected) settle({ kind: 'connect-failure', reason: connectReason(err) });
      else
        settle({ kind: 'reset', staleReuse: req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE') });
    });
    req.on('response', (res) => {
      if (res.rawHeaders.length / 2 > o.maxHeadersCount) {
        req.destroy();
        return settle({ kind: 'protocol-error' });
      }
      settle({ kind: 'response', res, req, serviceTimeMs: Math.round(performance.now() - started) });
    });
    const b = o.body;
    if (b.kind === 'buffered') {
      req.end(b.body.length > 0 ? b.body : undefined);
    } else if (b.kind === 'streamed') {
      req.write(b.head);
      b.rest.pipe(req);
      b.rest.once('aborted', () => req.destroy());
      b.rest.once('error', () => req.destroy());
      b.rest.resume();
    } else {
      req.destroy();
    }
  });
}
