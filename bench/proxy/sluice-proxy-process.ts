/**
 * The Sluice side of the proxy benchmark, as its own process: two capture listeners (one leading to
 * the echo server, one to the sink) in one event loop, each configured through the proxy's normal
 * snapshot path with a /32 ServiceEntry-style chain to a STATIC cluster. The original destination is
 * handed in per listener instead of being read with SO_ORIGINAL_DST after an iptables REDIRECT, so
 * Sluice and HAProxy are measured on the same plain loopback path (no NAT on either side).
 * Both proxies share the process's relay threads (native byte path, `SLUICE_PROXY_RELAY_THREADS`) and its one event loop.
 *
 *   node --import tsx bench/proxy/sluice-proxy-process.ts ECHO_PORT SINK_PORT
 * Prints {"echo": port, "sink": port} once both listen.
 */
import { Proxy as SluiceProxy, TestRoutes } from '@sluice/proxy';
import { TypeUrl } from '@sluice/xds';

const [echoPort, sinkPort] = process.argv.slice(2).map(Number) as [number, number];

function snapshot(port: number) {
  const cluster = `outbound|${port}||bench.example`;
  return {
    listeners: [
      {
        name: 'virtualOutbound',
        address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
        use_original_dst: true,
        traffic_direction: 'OUTBOUND',
        default_filter_chain: {
          name: 'virtualOutbound-blackhole-default',
          filters: [
            {
              name: 'envoy.filters.network.tcp_proxy',
              typed_config: { '@type': TypeUrl.TcpProxy, stat_prefix: 'BlackHoleCluster', cluster: 'BlackHoleCluster' },
            },
          ],
        },
      },
      {
        name: `0.0.0.0_${port}`,
        address: { socket_address: { address: '0.0.0.0', port_value: port } },
        bind_to_port: false,
        traffic_direction: 'OUTBOUND',
        filter_chains: [
          {
            filter_chain_match: {
              prefix_ranges: [{ address_prefix: '127.0.0.1', prefix_len: 32 }],
              destination_port: port,
            },
            filters: [
              {
                name: 'envoy.filters.network.tcp_proxy',
                typed_config: { '@type': TypeUrl.TcpProxy, stat_prefix: cluster, cluster },
              },
            ],
          },
        ],
      },
    ],
    clusters: [
      { name: 'BlackHoleCluster', type: 'STATIC', connect_timeout: '10s' },
      {
        name: cluster,
        type: 'STATIC',
        connect_timeout: '10s',
        load_assignment: {
          cluster_name: cluster,
          endpoints: [
            {
              lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }],
            },
          ],
        },
      },
    ],
  };
}

async function start(port: number): Promise<number> {
  // The load generator connects from 127.0.0.1: that source's original destination is the server.
  const routes = new TestRoutes();
  routes.set('127.0.0.1', { address: '127.0.0.1', port, family: 4 });
  const proxy = new SluiceProxy({
    outboundPort: 0,
    inboundPort: false,
    adminPort: false,
    statsPort: false,
    bindAddress: '127.0.0.1',
    accessLogWrite: () => {},
    originalDstForTesting: routes,
  });
  await proxy.start();
  const r = await proxy.applySnapshot(snapshot(port) as never, 'bench');
  if (!r.accepted) throw new Error(`benchmark snapshot rejected: ${r.detail}`);
  return proxy.ports.outbound;
}

const echo = await start(echoPort);
const sink = await start(sinkPort);
process.stdout.write(`${JSON.stringify({ echo, sink })}\n`);
