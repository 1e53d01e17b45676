import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adsService, decodeResource, encodeResource, TypeUrl } from './index.js';

test('a listener with a typed tcp_proxy filter survives an Any round trip', () => {
  const listener = {
    name: '10.253.9.1_3306',
    address: { socket_address: { address: '10.253.9.1', port_value: 3306 } },
    filter_chains: [
      {
        filter_chain_match: {
          prefix_ranges: [{ address_prefix: '10.253.9.1', prefix_len: 32 }],
          destination_port: 3306,
        },
        filters: [
          {
            name: 'envoy.filters.network.tcp_proxy',
            typed_config: {
              '@type': TypeUrl.TcpProxy,
              stat_prefix: 'outbound|3306||mysql',
              cluster: 'outbound|3306||mysql',
            },
          },
        ],
      },
    ],
    bind_to_port: false,
    traffic_direction: 'OUTBOUND',
  };
  const any = encodeResource(TypeUrl.Listener, listener);
  assert.equal(any.type_url, TypeUrl.Listener);
  const back = decodeResource(any) as typeof listener;
  assert.equal(back.name, '10.253.9.1_3306');
  assert.equal(back.filter_chains[0]?.filter_chain_match.prefix_ranges[0]?.prefix_len, 32);
  assert.equal(back.filter_chains[0]?.filters[0]?.typed_config['@type'], TypeUrl.TcpProxy);
  assert.equal(back.filter_chains[0]?.filters[0]?.typed_config.cluster, 'outbound|3306||mysql');
  assert.equal(back.traffic_direction, 'OUTBOUND');
});

test('encoding rejects a field of the wrong type', () => {
  assert.throws(() => encodeResource(TypeUrl.Cluster, { name: 'x', connect_timeout: 'soon' }));
});

test('the ADS service definition has the state-of-the-world and delta methods', () => {
  const svc = adsService();
  assert.ok(svc.StreamAggregatedResources);
  assert.ok(svc.DeltaAggregatedResources);
});

test('durations, wrappers and structs use the proto3 JSON mapping', () => {
  const cluster = {
    name: 'outbound|3306||mysql.example.com',
    type: 'ORIGINAL_DST',
    lb_policy: 'CLUSTER_PROVIDED',
    connect_timeout: '2.500s',
    circuit_breakers: { thresholds: [{ max_connections: 7 }] },
    metadata: { filter_metadata: { istio: { services: [{ host: 'mysql.example.com', port: 3306 }] } } },
  };
  const back = decodeResource(encodeResource(TypeUrl.Cluster, cluster)) as Record<string, any>;
  assert.equal(back.connect_timeout, '2.500s');
  assert.equal(back.circuit_breakers.thresholds[0].max_connections, 7);
  assert.equal(back.type, 'ORIGINAL_DST');
  assert.deepEqual(back.metadata.filter_metadata.istio, { services: [{ host: 'mysql.example.com', port: 3306 }] });
});

test('the NDS name table (Istio shape) encodes and decodes', () => {
  const table = { table: { 'mysql.example.com': { ips: ['240.240.0.1'], registry: 'External' } } };
  const back = decodeResource(encodeResource(TypeUrl.NameTable, table)) as typeof table;
  assert.deepEqual(back.table['mysql.example.com']?.ips, ['240.240.0.1']);
});
