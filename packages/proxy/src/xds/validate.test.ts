import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TypeUrl } from '@sluice/xds';
import { formatText } from '../observability/access-log.js';
import { portListener, staticCluster, tcpChain, virtualOutbound } from '../testing/resources.js';
import { formatFindings, validateResource } from './validate.js';

const cases: { name: string; type: string; resource: object; path?: string; valid: boolean }[] = [
  { name: 'virtualOutbound', type: TypeUrl.Listener, resource: virtualOutbound('REGISTRY_ONLY'), valid: true },
  {
    name: 'static cluster',
    type: TypeUrl.Cluster,
    resource: staticCluster('c', [{ address: '10.0.0.1', port: 1 }]),
    valid: true,
  },
  {
    name: 'unknown listener field',
    type: TypeUrl.Listener,
    resource: { ...portListener('0.0.0.0', 1, [tcpChain('c')]), freebind: true },
    path: 'freebind',
    valid: false,
  },
  {
    name: 'unsupported network filter',
    type: TypeUrl.Listener,
    resource: portListener('0.0.0.0', 1, [{ filters: [{ name: 'envoy.filters.network.redis_proxy' }] }]),
    path: 'filter_chains[0].filters[0].name',
    valid: false,
  },
  {
    name: 'unknown tcp_proxy field',
    type: TypeUrl.Listener,
    resource: portListener('0.0.0.0', 1, [
      {
        filters: [
          {
            name: 'envoy.filters.network.tcp_proxy',
            typed_config: { '@type': TypeUrl.TcpProxy, cluster: 'c', hash_policy: [] },
          },
        ],
      },
    ]),
    path: 'filter_chains[0].filters[0].typed_config.hash_policy',
    valid: false,
  },
  {
    name: 'unsupported cluster type',
    type: TypeUrl.Cluster,
    resource: { name: 'c', type: 'REDIS' },
    path: 'type',
    valid: false,
  },
  {
    name: 'STATIC without endpoints (BlackHoleCluster)',
    type: TypeUrl.Cluster,
    resource: { name: 'BlackHoleCluster', type: 'STATIC' },
    valid: true,
  },
  {
    name: 'LOGICAL_DNS without load_assignment',
    type: TypeUrl.Cluster,
    resource: { name: 'c', type: 'LOGICAL_DNS' },
    path: 'load_assignment',
    valid: false,
  },
  {
    name: 'route config as the control plane sends it (validate_clusters, route metadata)',
    type: TypeUrl.RouteConfiguration,
    resource: {
      name: '9080',
      validate_clusters: false,
      virtual_hosts: [
        {
          name: 'allow_any',
          domains: ['*'],
          routes: [
            {
              name: 'allow_any',
              match: { prefix: '/' },
              route: { cluster: 'PassthroughCluster' },
              metadata: { filter_metadata: { 'sluice.dev': { rule: 'mesh-default' } } },
            },
          ],
        },
      ],
    },
    valid: true,
  },
  { name: 'nameless cluster', type: TypeUrl.Cluster, resource: { type: 'ORIGINAL_DST' }, path: 'name', valid: false },
];

for (const c of cases) {
  test(`validate: ${c.name}`, () => {
    const findings = validateResource(c.type, c.resource as Record<string, unknown>, 0);
    if (c.valid) assert.deepEqual(findings, []);
    else
      assert.ok(
        findings.some((f) => f.path === c.path),
        JSON.stringify(findings),
      );
  });
}

test('the NACK message names type, resource and field', () => {
  const msg = formatFindings(TypeUrl.Cluster, [
    { resource: 'outbound|3306||db', path: 'type', message: 'must be one of STATIC' },
  ]);
  assert.equal(msg, 'Cluster "outbound|3306||db": type: must be one of STATIC');
});

test('text access log: Istio order, "- - -" for TCP, Sluice fields appended', () => {
  const line = formatText({
    start_time: '2024-01-01T00:00:00.000Z',
    direction: 'outbound',
    response_flags: 'UH',
    bytes_received: 0,
    bytes_sent: 0,
    duration: 1,
    upstream_cluster: 'BlackHoleCluster',
    upstream_host: null,
    downstream_local_address: '10.0.0.9:3306',
    downstream_remote_address: '10.0.0.5:40000',
    sni: null,
    requested_server_name: 'mysql.example.com',
    dns_name: 'mysql.example.com',
    route_name: null,
    rule: null,
    source_workload: 'ratings-v2',
    source_namespace: 'default',
    decision: 'blackhole',
    reason: 'registry-only',
  });
  assert.match(line, /^\[2024-01-01T00:00:00.000Z\] "- - -" 0 UH /);
  assert.match(line, / BlackHoleCluster - 10\.0\.0\.9:3306 10\.0\.0\.5:40000 mysql\.example\.com - /);
  assert.match(line, /source_workload=ratings-v2 .* decision=blackhole reason=registry-only/);
});
