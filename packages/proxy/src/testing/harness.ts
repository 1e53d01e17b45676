/**
 * Test harness: a Proxy on ephemeral loopback ports whose original destinations come from a
 * table keyed by the client's source address (each test connection binds its own 127.x.y.z), so
 * the proxy's connection path runs for real without iptables; plus access-log capture.
 */
import { once } from 'node:events';
import net from 'node:net';
import type { ProxyLogger } from '../logger.js';
import type { AccessLogEntry } from '../observability/access-log.js';
// biome-ignore lint/suspicious/noShadowRestrictedNames: the sidecar's public name is Proxy
import { Proxy, type ProxyOptions, TestRoutes } from '../proxy.js';

let nextSource = 1;
/** A fresh loopback source address for one client connection. */
export function freshSourceIp(): string {
  const n = nextSource++;
  return `127.77.${(n >> 8) & 255}.${n & 255 || 1}`;
}

export interface CapturedLog {
  readonly entries: AccessLogEntry[];
  readonly messages: { level: string; msg: string; obj: object }[];
  waitFor(pred: (e: AccessLogEntry) => boolean, timeoutMs?: number): Promise<AccessLogEntry>;
  waitForMessage(
    pred: (m: { msg: string; obj: object }) => boolean,
    timeoutMs?: number,
  ): Promise<{ msg: string; obj: object }>;
}

export function captureLogs(): { log: CapturedLog; accessLogWrite: (line: string) => void; logger: ProxyLogger } {
  const entries: AccessLogEntry[] = [];
  const messages: { level: string; msg: string; obj: object }[] = [];
  const waiters: (() => void)[] = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  const poll = <T>(find: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      const check = () => {
        const hit = find();
        if (hit !== undefined) {
          clearTimeout(timer);
          resolve(hit);
        } else waiters.push(check);
      };
      check();
    });
  const at =
    (level: string) =>
    (obj: object, msg: string): void => {
      messages.push({ level, msg, obj });
      wake();
    };
  const logger: ProxyLogger = {
    level: 'info',
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
  return {
    accessLogWrite: (line) => {
      entries.push(JSON.parse(line));
      wake();
    },
    logger,
    log: {
      entries,
      messages,
      waitFor: (pred, timeoutMs = 5000) => poll(() => entries.find(pred), timeoutMs, 'an access-log entry'),
      waitForMessage: (pred, timeoutMs = 5000) => poll(() => messages.find(pred), timeoutMs, 'a log message'),
    },
  };
}

export interface TestProxy {
  proxy: Proxy;
  log: CapturedLog;
  /** Opens a client connection whose original destination is `dst`. */
  connect(dst: { address: string; port: number }): net.Socket;
}

export async function startTestProxy(options: ProxyOptions = {}): Promise<TestProxy> {
  const routes = new TestRoutes();
  const { log, accessLogWrite, logger } = captureLogs();
  const proxy = new Proxy({
    outboundPort: 0,
    inboundPort: 0,
    adminPort: 0,
    statsPort: 0,
    bindAddress: '127.0.0.1',
    accessLogWrite,
    logger,
    originalDstForTesting: routes,
    ...options,
  });
  await proxy.start();
  return {
    proxy,
    log,
    connect(dst) {
      const source = freshSourceIp();
      routes.set(source, { address: dst.address, port: dst.port, family: 4 });
      return net.connect({ host: '127.0.0.1', port: proxy.ports.outbound, localAddress: source, allowHalfOpen: true });
    },
  };
}

/** A TCP server on a loopback address; `onSocket` serves each connection. */
export async function startServer(
  host: string,
  onSocket: (s: net.Socket) => void,
  opts: net.ServerOpts = {},
): Promise<{ server: net.Server; address: string; port: number; received: () => number; close(): Promise<void> }> {
  let received = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, ...opts }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      received += d.length;
    });
    onSocket(s);
  });
  server.listen(0, host);
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    server,
    address: host,
    port,
    received: () => received,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Reads a socket until the peer ends or resets it; resolves with everything received, then closes it. */
export function readAll(s: net.Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const done = () => {
      s.destroy();
      resolve(Buffer.concat(chunks));
    };
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => {});
    s.once('end', done);
    s.once('close', done);
  });
}
