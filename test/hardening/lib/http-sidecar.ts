/**
 * Sluice's real proxy (`Proxy` from @sluice/proxy) with one outbound HTTP port, on 127.0.0.1
 * ephemeral ports: a snapshot of Envoy resources as the control plane generates them routes every
 * request for `127.0.0.1:<upstream port>` through the HTTP connection manager to that upstream. The
 * original destination comes from the proxy's test hook instead of iptables, so no namespace is
 * needed; everything else (decision table, hand-off, router, upstream pool) is the production path.
 */
import net from 'node:net';
import { type AccessLogEntry, Proxy as SluiceProxy } from '@sluice/proxy';
import { TypeUrl } from '@sluice/xds';

export interface HttpSidecar {
  readonly proxy: SluiceProxy;
  /** The port a client connects to (as if redirected by iptables). */
  readonly port: number;
  readonly accessLog: AccessLogEntry[];
  close(): Promise<void>;
}

function httpChain(routeConfigName: string) {
  return {
    filters: [
      {
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': TypeUrl.HttpConnectionManager,
          stat_prefix: routeConfigName,
          rds: { route_config_name: routeConfigName, config_source: { ads: {} } },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.Router } }],
        },
      },
    ],
  };
}

function tcpChain(cluster: string, name: string) {
  return {
    name,
    filters: [
      {
        name: 'envoy.filters.network.tcp_proxy',
        typed_config: { '@type': TypeUrl.TcpProxy, stat_prefix: cluster, cluster },
      },
    ],
  };
}

/** The proxy in REGISTRY_ONLY mode with one HTTP service: `reviews` on the upstream's port. */
export async function startHttpSidecar(upstreamPort: number): Promise<HttpSidecar> {
  const accessLog: AccessLogEntry[] = [];
  const quiet = () => {};
  const proxy = new SluiceProxy({
    outboundPort: 0,
    inboundPort: false,
    adminPort: false,
    statsPort: false,
    bindAddress: '127.0.0.1',
    accessLogWrite: (line) => accessLog.push(JSON.parse(line) as AccessLogEntry),
    logger: { level: 'warn', debug: quiet, info: quiet, warn: quiet, error: quiet },
    originalDstForTesting: () => ({ address: '127.0.0.1', port: upstreamPort, family: 4 }),
  });
  await proxy.start();
  const cluster = `outbound|${upstreamPort}||reviews.default.svc.cluster.local`;
  const routeName = String(upstreamPort);
  const result = await proxy.applySnapshot({
    listeners: [
      {
        name: 'virtualOutbound',
        address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
        use_original_dst: true,
        traffic_direction: 'OUTBOUND',
        filter_chains: [],
        default_filter_chain: tcpChain('BlackHoleCluster', 'BlackHoleFilterChain'),
      },
      {
        name: `0.0.0.0_${upstreamPort}`,
        address: { socket_address: { address: '0.0.0.0', port_value: upstreamPort } },
        bind_to_port: false,
        traffic_direction: 'OUTBOUND',
        filter_chains: [httpChain(routeName)],
      },
    ],
    clusters: [
      {
        name: cluster,
        type: 'STATIC',
        connect_timeout: '2s',
        load_assignment: {
          cluster_name: cluster,
          endpoints: [
            {
              lb_endpoints: [
                { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upstreamPort } } } },
              ],
            },
          ],
        },
      },
      {
        name: 'BlackHoleCluster',
        type: 'STATIC',
        connect_timeout: '10s',
        load_assignment: { cluster_name: 'BlackHoleCluster' },
      },
    ],
    routes: [
      {
        name: routeName,
        virtual_hosts: [
          {
            name: 'reviews',
            domains: ['*'],
            routes: [{ match: { prefix: '/' }, route: { cluster, timeout: '5s' } }],
          },
        ],
      },
    ],
  });
  if (!result.accepted) {
    await proxy.destroy();
    throw new Error(`the proxy refused the snapshot: ${result.detail}`);
  }
  return {
    proxy,
    port: proxy.ports.outbound,
    accessLog,
    close: () => proxy.destroy(),
  };
}

/** Writes `data` on a fresh connection and collects everything the proxy answers until it closes or `waitMs`. */
export function exchange(port: number, data: string | Buffer, waitMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(done, waitMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', done);
    socket.on('close', done);
    socket.write(data);
  });
}
