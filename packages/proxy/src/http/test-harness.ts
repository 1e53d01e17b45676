/**
 * Real servers on 127.0.0.1 ephemeral ports for the router's tests, and a front listener that hands
 * connections over exactly as the proxy does (its HttpHandoff, ClusterTable and ProxyMetrics).
 */
import http from 'node:http';
import net from 'node:net';
import type { HttpHandoff } from '../handoff.js';
import type { AccessLogEntry } from '../observability/access-log.js';
import { ProxyMetrics } from '../observability/metrics.js';
import { ClusterTable, ConnectionCounters } from '../upstream/cluster-table.js';
import type { Cluster, RouteConfiguration } from '../xds/resources.js';
import { serveHttpConnection } from './proxy-handoff.js';
import type { HttpEndpoint, HttpServerLimits } from './router-context.js';

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
  server.maxHeadersCount = 0; // see every header the proxy sends (Node keeps about 1,000 by default)
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

/** An Envoy STATIC cluster over the given endpoints. */
export function staticCluster(name: string, endpoints: HttpEndpoint[], extra: Partial<Cluster> = {}): Cluster {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: endpoints.map((e) => ({
            endpoint: { address: { socket_address: { address: e.address, port_value: e.port } } },
          })),
        },
      ],
    },
    ...extra,
  } as Cluster;
}

export interface Proxy {
  readonly port: number;
  readonly logs: AccessLogEntry[];
  readonly metrics: ProxyMetrics;
  close(): Promise<void>;
}

const logBase = (socket: net.Socket): AccessLogEntry => ({
  start_time: new Date().toISOString(),
  direction: 'outbound',
  response_flags: '-',
  bytes_received: 0,
  bytes_sent: 0,
  duration: 0,
  upstream_cluster: '-',
  upstream_host: null,
  downstream_local_address: `${socket.localAddress}:${socket.localPort}`,
  downstream_remote_address: `${socket.remoteAddress}:${socket.remotePort}`,
  sni: null,
  requested_server_name: null,
  dns_name: null,
  route_name: null,
  rule: null,
  source_workload: 'productpage-v1',
  source_namespace: 'default',
  decision: 'route',
  reason: 'port-only',
});

/** A front listener handing every accepted connection to serveHttpConnection, as the proxy does. */
export async function startProxy(
  routes: object,
  clusters: Cluster[],
  limits?: HttpServerLimits,
  sniff = 0,
): Promise<Proxy> {
  const logs: AccessLogEntry[] = [];
  const metrics = new ProxyMetrics();
  const table = new ClusterTable(clusters, {}, new ConnectionCounters());
  const sockets = new Set<net.Socket>();
  const stop = new AbortController();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const handoff = (initialData?: Buffer): HttpHandoff => ({
      socket,
      direction: 'outbound',
      routeConfigName: '9080',
      routes: new Map([['9080', routes as RouteConfiguration]]),
      clusters: table,
      metrics,
      accessLog: (e) => logs.push(e),
      logBase: logBase(socket),
      source: { workload: 'productpage-v1', namespace: 'default', labels: {}, serviceAccount: 'default' },
      originalDst: { address: '127.0.0.1', port: 9, family: 4 },
      decision: { verdict: 'route', reason: 'port-only', cluster: '', filterChain: undefined, isDefault: false },
      dnsName: undefined,
      ...(initialData ? { initialData } : {}),
      signal: stop.signal,
    });
    if (sniff === 0) return serveHttpConnection(socket, handoff(), limits);
    // read a few bytes first, as a protocol sniffer would, then hand them over
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got < sniff) return;
      socket.off('data', onData);
      socket.pause();
      serveHttpConnection(socket, handoff(Buffer.concat(chunks)), limits);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    logs,
    metrics,
    close: () =>
      new Promise<void>((r) => {
        stop.abort();
        for (const s of sockets) s.destroy();
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
