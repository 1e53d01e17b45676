/** Real servers on 127.0.0.1 ephemeral ports for the router's tests; everything closes in `close()`. */
import http from 'node:http';
import net from 'node:net';
import type { HttpAccessLogRecord, HttpCluster, HttpEndpoint, HttpHandoff, HttpRequestSample } from './http-handoff.js';
import { serveHttpConnection } from './serve.js';
import type { CompiledRoutes } from './types.js';
import { UpstreamPools } from './upstream-pools.js';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
  remotePort: number;
}

export interface Upstream {
  readonly endpoint: HttpEndpoint;
  readonly seen: SeenRequest[];
  /** distinct client ports the upstream saw (one per upstream connection) */
  readonly connections: Set<number>;
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, seen: SeenRequest) => void;

/** An upstream HTTP server recording every complete request it receives. */
export async function startUpstream(handler: Handler): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const connections = new Set<number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString(),
        remotePort: req.socket.remotePort ?? 0,
      };
      seen.push(s);
      handler(req, res, s);
    });
  });
  server.on('connection', (s) => connections.add(s.remotePort ?? 0));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: { address: '127.0.0.1', port },
    seen,
    connections,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A static cluster over the given endpoints, round robin. */
export function staticCluster(name: string, endpoints: HttpEndpoint[], extra: Partial<HttpCluster> = {}): HttpCluster {
  let next = 0;
  return {
    name,
    pickEndpoint(avoid) {
      if (endpoints.length === 0) return undefined;
      for (let i = 0; i < endpoints.length; i++) {
        const e = endpoints[(next + i) % endpoints.length]!;
        if (!avoid?.has(`${e.address}:${e.port}`)) {
          next = (next + i + 1) % endpoints.length;
          return e;
        }
      }
      return endpoints[next++ % endpoints.length];
    },
    ...extra,
  };
}

export interface Proxy {
  readonly port: number;
  readonly logs: HttpAccessLogRecord[];
  readonly samples: HttpRequestSample[];
  readonly pools: UpstreamPools;
  close(): Promise<void>;
}

/** A front listener handing every accepted connection to serveHttpConnection. */
export async function startProxy(
  routes: CompiledRoutes,
  clusters: HttpCluster[],
  extra: Partial<HttpHandoff> = {},
  sniff = 0,
): Promise<Proxy> {
  const logs: HttpAccessLogRecord[] = [];
  const samples: HttpRequestSample[] = [];
  const pools = new UpstreamPools();
  const table = new Map(clusters.map((c) => [c.name, c]));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const handoff: HttpHandoff = {
      routes,
      clusters: { get: (n) => table.get(n) },
      upstreams: pools,
      accessLog: (r) => logs.push(r),
      recordRequest: (s) => samples.push(s),
      ...extra,
    };
    if (sniff === 0) return serveHttpConnection(socket, handoff);
    // read a few bytes first, as a protocol sniffer would, then hand them over
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got < sniff) return;
      socket.off('data', onData);
      socket.pause();
      serveHttpConnection(socket, { ...handoff, initialData: Buffer.concat(chunks) });
    };
    socket.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    logs,
    samples,
    pools,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        pools.destroy();
        server.close(() => r());
      }),
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request through the proxy on a fresh connection. */
export function request(
  port: number,
  opts: { path?: string; method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: opts.path ?? '/',
        method: opts.method ?? 'GET',
        headers: opts.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Writes raw bytes on a new connection and collects everything until the proxy closes it (bounded). */
export function rawExchange(port: number, data: string | Buffer, waitMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    }, waitMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e) => {
      clearTimeout(timer);
      if (chunks.length > 0) resolve(Buffer.concat(chunks).toString('latin1'));
      else reject(e);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.write(data);
  });
}

/** Waits until `cond()` holds (bounded by `ms`). */
export async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}
