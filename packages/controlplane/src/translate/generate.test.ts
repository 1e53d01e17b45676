import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Resource, tcpPortConflicts } from '@sluice/config';
import { generateProxyResources } from './generate.js';
import { proxyInfoFromNode } from './proxy-info.js';
import { bookinfo, meshRegistryOnly, mysqlExternal, ratingsV2Mysql, snapshot } from './testdata/seed.js';
import type { GeneratedResources, ProxyInfo } from './types.js';
import { allocateVips, existingVips } from './vip.js';

// biome-ignore lint/suspicious/noExplicitAny: test inspection of JSON
type Json = Record<string, any>;

let n = 0;
function res(
  kind: string,
  name: string,
  spec: unknown,
  extra: Partial<Resource['metadata']> = {},
  ns = 'default',
): Resource {
  n++;
  const apiVersion = kind === 'MeshConfig' ? 'sluice.dev/v1alpha1' : 'networking.istio.io/v1beta1';
  return {
    apiVersion,
    kind,
    metadata: {
      name,
      namespace: ns,
      creationTimestamp: `2026-02-01T00:00:${String(n % 60).padStart(2, '0')}Z`,
      ...extra,
    },
    spec,
  } as Resource;
}

function gen(resources: Resource[], proxy: ProxyInfo = ratingsV2Mysql): GeneratedResources {
  return generateProxyResources(proxy, snapshot(resources, String(++n)));
}
const listener = (g: GeneratedResources, name: string) => g.listeners.find((l) => l.name === name) as Json | undefined;
const cluster = (g: GeneratedResources, name: string) => g.clusters.find((c) => c.name === name) as Json | undefined;
const fallbackOf = (g: GeneratedResources) => listener(g, 'virtualOutbound')?.default_filter_chain as Json;

const inOtherNs: ProxyInfo = {
  ...ratingsV2Mysql,
  id: 'sidecar~10.233.77.40~x-0.team~team.svc.cluster.local',
  namespace: 'team',
  labels: { app: 'x' },
};

describe('outbound mode and audit', () => {
  const cases: { name: string; resources: Resource[]; chain: string; cluster: string; audit?: boolean }[] = [
    {
      name: 'mesh default is ALLOW_ANY',
      resources: [],
      chain: 'PassthroughFilterChain',
      cluster: 'PassthroughCluster',
    },
    {
      name: 'MeshConfig REGISTRY_ONLY black-holes',
      resources: [meshRegistryOnly],
      chain: 'BlackHoleFilterChain',
      cluster: 'BlackHoleCluster',
    },
    {
      name: "the workload's Sidecar overrides the mesh",
      resources: [
        meshRegistryOnly,
        res('Sidecar', 'open', {
          workloadSelector: { labels: { app: 'ratings' } },
          outboundTrafficPolicy: { mode: 'ALLOW_ANY' },
        }),
      ],
      chain: 'PassthroughFilterChain',
      cluster: 'PassthroughCluster',
    },
    {
      name: 'MeshConfig egressMode audit passes through and marks the chain',
      resources: [
        res('MeshConfig', 'mesh', { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' }, egressMode: 'audit' }, {}, ''),
      ],
      chain: 'PassthroughFilterChain',
      cluster: 'PassthroughCluster',
      audit: true,
    },
    {
      name: 'the Sidecar annotation switches one workload to audit',
      resources: [
        meshRegistryOnly,
        res(
          'Sidecar',
          'audit',
          { workloadSelector: { labels: { app: 'ratings' } } },
          { annotations: { 'sluice.dev/egress-mode': 'audit' } },
        ),
      ],
      chain: 'PassthroughFilterChain',
      cluster: 'PassthroughCluster',
      audit: true,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const g = gen([...bookinfo, ...c.resources]);
      const fb = fallbackOf(g);
      assert.equal(fb.name, c.chain);
      assert.equal(fb.filters[0].typed_config.cluster, c.cluster);
      assert.equal(fb.metadata.filter_metadata['sluice.dev'].egressMode, c.audit ? 'audit' : undefined);
      assert.equal(g.audit, c.audit ?? false);
    });
  }

  test('a direct connection to 15001 is always black-holed', () => {
    const vo = listener(gen([]), 'virtualOutbound')!;
    assert.equal(vo.use_original_dst, true);
    const chain = vo.filter_chains.find((c: Json) => c.filter_chain_match.destination_port === 15001);
    assert.equal(chain.filters[0].typed_config.cluster, 'BlackHoleCluster');
  });

  test('HTTP catch-all: allow_any to PassthroughCluster, block_all 502 under REGISTRY_ONLY', () => {
    const open = gen([...bookinfo]).routes[0] as Json;
    assert.equal(open.virtual_hosts.at(-1).name, 'allow_any');
    assert.equal(open.virtual_hosts.at(-1).routes[0].route.cluster, 'PassthroughCluster');
    const closed = gen([...bookinfo, meshRegistryOnly]).routes[0] as Json;
    assert.equal(closed.virtual_hosts.at(-1).name, 'block_all');
    assert.equal(closed.virtual_hosts.at(-1).routes[0].direct_response.status, 502);
  });
});

describe('visibility', () => {
  const teamEntry = res(
    'ServiceEntry',
    'team-db',
    { hosts: ['db.team.example'], addresses: ['10.9.0.1'], ports: [{ name: 'tcp', number: 5432, protocol: 'TCP' }] },
    {},
    'team',
  );

  test("Sidecar egress './*' hides other namespaces' services; 'team/*' imports them", () => {
    const local = gen([...bookinfo, teamEntry, res('Sidecar', 'default', { egress: [{ hosts: ['./*'] }] })]);
    assert.equal(cluster(local, 'outbound|5432||db.team.example'), undefined);
    assert.ok(cluster(local, 'outbound|9080||reviews.default.svc.cluster.local'));
    const imported = gen([...bookinfo, teamEntry, res('Sidecar', 'default', { egress: [{ hosts: ['team/*'] }] })]);
    assert.ok(cluster(imported, 'outbound|5432||db.team.example'));
    assert.equal(cluster(imported, 'outbound|9080||reviews.default.svc.cluster.local'), undefined);
  });

  test("a 'ns/host' import takes only that host", () => {
    const other = res(
      'ServiceEntry',
      'other',
      {
        hosts: ['other.team.example'],
        addresses: ['10.9.0.2'],
        ports: [{ name: 'tcp', number: 5433, protocol: 'TCP' }],
      },
      {},
      'team',
    );
    const g = gen([teamEntry, other, res('Sidecar', 'default', { egress: [{ hosts: ['team/db.team.example'] }] })]);
    assert.ok(cluster(g, 'outbound|5432||db.team.example'));
    assert.equal(cluster(g, 'outbound|5433||other.team.example'), undefined);
  });

  test("exportTo '.' keeps an entry to its own namespace", () => {
    const privateEntry = res('ServiceEntry', 'private', {
      hosts: ['p.example'],
      addresses: ['10.9.0.3'],
      ports: [{ name: 'tcp', number: 1234, protocol: 'TCP' }],
      exportTo: ['.'],
    });
    assert.ok(cluster(gen([privateEntry]), 'outbound|1234||p.example'));
    assert.equal(cluster(gen([privateEntry], inOtherNs), 'outbound|1234||p.example'), undefined);
  });
});

describe('shared TCP ports', () => {
  const mongo = (name: string, host: string, created: string) =>
    res(
      'ServiceEntry',
      name,
      { hosts: [host], ports: [{ name: 'mongo', number: 27017, protocol: 'MONGO' }], resolution: 'NONE' },
      { creationTimestamp: created },
    );

  test('two entries on one port without addresses: the older keeps it, the other is reported', () => {
    const older = mongo('mongo-a', 'a.example', '2026-03-01T00:00:00Z');
    const newer = mongo('mongo-b', 'b.example', '2026-03-02T00:00:00Z');
    const g = gen([newer, older]);
    const chains = (listener(g, '0.0.0.0_27017') as Json).filter_chains;
    assert.equal(chains.length, 1);
    assert.equal(chains[0].filters[0].typed_config.cluster, 'outbound|27017||a.example');
    assert.equal(g.conflicts.length, 1);
    assert.equal(g.conflicts[0]?.loser.name, 'mongo-b');
    assert.equal(g.conflicts[0]?.winner.name, 'mongo-a');
    assert.match(g.conflicts[0]?.message ?? '', /not served/);
    // Same winner as the analyzer in @sluice/config.
    const analyzed = tcpPortConflicts([newer, older]);
    assert.equal(analyzed[0]?.winner.name, g.conflicts[0]?.winner.name);
    assert.equal(analyzed[0]?.loser.name, g.conflicts[0]?.loser.name);
  });

  const tcpEntry = (name: string, addresses: string[], created: string, port = 3306, protocol = 'TCP') =>
    res(
      'ServiceEntry',
      name,
      { hosts: [`${name}.example`], addresses, ports: [{ name: 'p', number: port, protocol }], resolution: 'NONE' },
      { creationTimestamp: created },
    );

  test('an exact address gets its own listener <ip>_<port>; CIDRs stay chains of 0.0.0.0_<port>', () => {
    const g = gen([
      meshRegistryOnly,
      tcpEntry('one', ['10.1.0.1'], '2026-03-01T00:00:00Z'),
      tcpEntry('two', ['10.1.0.2/32', '10.2.0.0/16'], '2026-03-02T00:00:00Z'),
      tcpEntry('six', ['fd00:0:0::7/128'], '2026-03-03T00:00:00Z'),
    ]);
    const one = listener(g, '10.1.0.1_3306') as Json;
    assert.deepEqual(one.address, { socket_address: { address: '10.1.0.1', port_value: 3306 } });
    assert.equal(one.bind_to_port, false);
    assert.equal(one.traffic_direction, 'OUTBOUND');
    assert.deepEqual(
      one.filter_chains.map((c: Json) => c.filter_chain_match),
      [{ destination_port: 3306 }],
    );
    assert.equal(one.filter_chains[0].filters[0].typed_config.cluster, 'outbound|3306||one.example');
    assert.deepEqual(one.filter_chains[0].metadata, {
      filter_metadata: { 'sluice.dev': { rule: 'ServiceEntry/default/one' } },
    });
    const wildcard = listener(g, '0.0.0.0_3306') as Json;
    assert.equal(one.default_filter_chain, wildcard.default_filter_chain);
    assert.equal(one.default_filter_chain.name, 'BlackHoleFilterChain');
    assert.equal(
      listener(g, '10.1.0.2_3306')?.filter_chains[0].filters[0].typed_config.cluster,
      'outbound|3306||two.example',
    );
    assert.deepEqual(
      wildcard.filter_chains.map((c: Json) => c.filter_chain_match),
      [{ destination_port: 3306, prefix_ranges: [{ address_prefix: '10.2.0.0', prefix_len: 16 }] }],
    );
    assert.ok(listener(g, 'fd00::7_3306'), 'IPv6 in its canonical form');
    assert.deepEqual(g.conflicts, []);
  });

  test('two entries with the same exact address and port: the older keeps the listener, the other is reported', () => {
    const older = tcpEntry('db-a', ['10.1.0.9'], '2026-03-01T00:00:00Z');
    const newer = tcpEntry('db-b', ['10.1.0.9/32'], '2026-03-02T00:00:00Z');
    const g = gen([newer, older]);
    const l = listener(g, '10.1.0.9_3306') as Json;
    assert.equal(l.filter_chains.length, 1);
    assert.equal(l.filter_chains[0].filters[0].typed_config.cluster, 'outbound|3306||db-a.example');
    assert.equal(listener(g, '0.0.0.0_3306'), undefined);
    assert.equal(g.conflicts.length, 1);
    assert.equal(g.conflicts[0]?.reason, 'tcp-over-tcp');
    assert.equal(g.conflicts[0]?.winner.name, 'db-a');
    assert.equal(g.conflicts[0]?.loser.name, 'db-b');
  });

  test('an address a TLS entry also matches on the port stays a /32 chain beside its SNI chain', () => {
    const tls = tcpEntry('api', ['10.1.0.5'], '2026-03-01T00:00:00Z', 443, 'TLS');
    const raw = tcpEntry('raw', ['10.1.0.5', '10.1.0.6'], '2026-03-02T00:00:00Z', 443);
    const g = gen([tls, raw]);
    assert.equal(listener(g, '10.1.0.5_443'), undefined);
    assert.equal(
      listener(g, '10.1.0.6_443')?.filter_chains[0].filters[0].typed_config.cluster,
      'outbound|443||raw.example',
    );
    const chains = (listener(g, '0.0.0.0_443') as Json).filter_chains;
    const byName = Object.fromEntries(chains.map((c: Json) => [c.name, c.filter_chain_match]));
    assert.deepEqual(byName['outbound|443||raw.example'], {
      destination_port: 443,
      prefix_ranges: [{ address_prefix: '10.1.0.5', prefix_len: 32 }],
    });
    assert.deepEqual(byName['outbound|443||api.example'].server_names, ['api.example']);
    assert.deepEqual(g.conflicts, []);
  });

  test('an exact address whose VirtualService has destinationSubnets chains stays a /32 chain', () => {
    const se = tcpEntry('db', ['10.1.0.7'], '2026-03-01T00:00:00Z', 5432);
    const dr = res('DestinationRule', 'db', { host: 'db.example', subsets: [{ name: 'b' }] });
    const vs = res('VirtualService', 'db', {
      hosts: ['db.example'],
      tcp: [
        {
          match: [{ destinationSubnets: ['10.9.0.0/16'] }],
          route: [{ destination: { host: 'db.example', subset: 'b' } }],
        },
      ],
    });
    const g = gen([se, dr, vs]);
    assert.equal(listener(g, '10.1.0.7_5432'), undefined);
    const chains = (listener(g, '0.0.0.0_5432') as Json).filter_chains;
    assert.deepEqual(
      chains.map((c: Json) => c.filter_chain_match.prefix_ranges),
      [[{ address_prefix: '10.1.0.7', prefix_len: 32 }], [{ address_prefix: '10.9.0.0', prefix_len: 16 }]],
    );
  });

  test('resolution DNS gets an auto-allocated VIP: no conflict, answered by DNS', () => {
    const a = res(
      'ServiceEntry',
      'dns-a',
      { hosts: ['a.example'], ports: [{ name: 'tcp', number: 9000, protocol: 'TCP' }], resolution: 'DNS' },
      { creationTimestamp: '2026-03-01T00:00:00Z' },
    );
    const b = res(
      'ServiceEntry',
      'dns-b',
      { hosts: ['b.example'], ports: [{ name: 'tcp', number: 9000, protocol: 'TCP' }], resolution: 'DNS' },
      { creationTimestamp: '2026-03-02T00:00:00Z' },
    );
    const g = gen([a, b]);
    assert.deepEqual(g.conflicts, []);
    assert.deepEqual(g.nameTable.table['a.example']?.ips, ['240.240.0.1']);
    assert.deepEqual(g.nameTable.table['b.example']?.ips, ['240.240.0.2']);
    assert.equal(cluster(g, 'outbound|9000||a.example')?.type, 'STRICT_DNS');
  });
});

describe('VIP allocation', () => {
  const se = (name: string, host: string, created: string, status?: unknown) =>
    ({
      ...res(
        'ServiceEntry',
        name,
        { hosts: [host], resolution: 'DNS', ports: [{ name: 'tcp', number: 1, protocol: 'TCP' }] },
        { creationTimestamp: created },
      ),
      ...(status ? { status } : {}),
    }) as Resource;

  test('is deterministic in creation order and keeps recorded addresses', () => {
    const a = se('a', 'a.example', '2026-01-01T00:00:00Z');
    const b = se('b', 'b.example', '2026-01-02T00:00:00Z');
    const first = allocateVips(new Map(), [b, a] as never);
    assert.deepEqual(first.get('default/a'), [{ host: 'a.example', value: '240.240.0.1' }]);
    assert.deepEqual(first.get('default/b'), [{ host: 'b.example', value: '240.240.0.2' }]);
    // a is deleted; b keeps its recorded address, a new entry takes the lowest free one.
    const bStored = { ...b, status: { addresses: first.get('default/b') } } as Resource;
    const c = se('c', 'c.example', '2026-01-03T00:00:00Z');
    const second = allocateVips(existingVips([bStored, c] as never), [bStored, c] as never);
    assert.deepEqual(second.get('default/b'), [{ host: 'b.example', value: '240.240.0.2' }]);
    assert.deepEqual(second.get('default/c'), [{ host: 'c.example', value: '240.240.0.1' }]);
  });
});

describe('routing', () => {
  const drReviews = res('DestinationRule', 'reviews', {
    host: 'reviews',
    trafficPolicy: {
      connectionPool: {
        tcp: { maxConnections: 7, connectTimeout: '250ms', tcpKeepalive: { time: '30s', interval: '5s', probes: 3 } },
      },
      loadBalancer: { simple: 'LEAST_REQUEST' },
    },
    subsets: [
      { name: 'v1', labels: { version: 'v1' } },
      { name: 'v2', labels: { version: 'v2' } },
    ],
  });

  test('DestinationRule subsets become clusters with their pods as endpoints, and its policy applies', () => {
    const g = gen([...bookinfo, drReviews]);
    const v1 = cluster(g, 'outbound|9080|v1|reviews.default.svc.cluster.local')!;
    assert.equal(v1.type, 'EDS');
    assert.equal(v1.connect_timeout, '0.250s');
    assert.equal(v1.lb_policy, 'LEAST_REQUEST');
    // maxConnections from the DestinationRule; everything else unlimited, as Istio sends it.
    assert.deepEqual(v1.circuit_breakers, {
      thresholds: [
        { max_connections: 7, max_pending_requests: 4294967295, max_requests: 4294967295, max_retries: 4294967295 },
      ],
    });
    assert.deepEqual(v1.upstream_connection_options, {
      tcp_keepalive: { keepalive_probes: 3, keepalive_time: 30, keepalive_interval: 5 },
    });
    assert.equal(v1.metadata.filter_metadata.istio.subset, 'v1');
    const cla = g.endpoints.find(
      (e) => e.cluster_name === 'outbound|9080|v1|reviews.default.svc.cluster.local',
    ) as Json;
    assert.deepEqual(
      cla.endpoints[0].lb_endpoints.map((e: Json) => e.endpoint.address.socket_address.address),
      ['10.233.77.12'],
    );
  });

  test('HTTP VirtualService: header match, weights, timeout, retries, fault', () => {
    const vs = res('VirtualService', 'reviews', {
      hosts: ['reviews'],
      http: [
        {
          match: [{ headers: { 'end-user': { exact: 'jason' } } }],
          route: [{ destination: { host: 'reviews', subset: 'v2' } }],
          fault: { delay: { fixedDelay: '7s', percentage: { value: 100 } } },
        },
        {
          route: [
            { destination: { host: 'reviews', subset: 'v1' }, weight: 50 },
            { destination: { host: 'reviews', subset: 'v2' }, weight: 50 },
          ],
          timeout: '2s',
          retries: { attempts: 3, perTryTimeout: '1s' },
        },
      ],
    });
    const rc = gen([...bookinfo, drReviews, vs]).routes.find((r) => r.name === '9080') as Json;
    const vh = rc.virtual_hosts.find((v: Json) => v.name === 'reviews.default.svc.cluster.local:9080');
    assert.ok(
      vh.domains.includes('reviews') && vh.domains.includes('reviews:9080') && vh.domains.includes('240.241.0.12'),
    );
    assert.deepEqual(vh.routes[0].match.headers, [{ name: 'end-user', string_match: { exact: 'jason' } }]);
    assert.equal(vh.routes[0].route.cluster, 'outbound|9080|v2|reviews.default.svc.cluster.local');
    assert.equal(vh.routes[0].typed_per_filter_config['envoy.filters.http.fault'].delay.fixed_delay, '7s');
    assert.deepEqual(
      vh.routes[1].route.weighted_clusters.clusters.map((c: Json) => c.weight),
      [50, 50],
    );
    assert.equal(vh.routes[1].route.timeout, '2s');
    assert.deepEqual(vh.routes[1].route.retry_policy.num_retries, 3);
  });

  test('TCP VirtualService: weights and destinationSubnets become filter chains', () => {
    const se = res('ServiceEntry', 'db', {
      hosts: ['db.example'],
      addresses: ['10.8.0.0/24'],
      ports: [{ name: 'tcp', number: 5432, protocol: 'TCP' }],
      resolution: 'NONE',
    });
    const dr = res('DestinationRule', 'db', { host: 'db.example', subsets: [{ name: 'a' }, { name: 'b' }] });
    const vs = res('VirtualService', 'db', {
      hosts: ['db.example'],
      tcp: [
        {
          match: [{ destinationSubnets: ['10.8.0.7/32'] }],
          route: [{ destination: { host: 'db.example', subset: 'b' } }],
        },
        {
          route: [
            { destination: { host: 'db.example', subset: 'a' }, weight: 80 },
            { destination: { host: 'db.example', subset: 'b' }, weight: 20 },
          ],
        },
      ],
    });
    const chains = (listener(gen([se, dr, vs]), '0.0.0.0_5432') as Json).filter_chains;
    const subnet = chains.find((c: Json) => c.filter_chain_match.prefix_ranges[0].address_prefix === '10.8.0.7');
    assert.equal(subnet.filters[0].typed_config.cluster, 'outbound|5432|b|db.example');
    const main = chains.find((c: Json) => c.filter_chain_match.prefix_ranges[0].address_prefix === '10.8.0.0');
    assert.deepEqual(main.filters[0].typed_config.weighted_clusters.clusters, [
      { name: 'outbound|5432|a|db.example', weight: 80 },
      { name: 'outbound|5432|b|db.example', weight: 20 },
    ]);
  });

  test('resolution decides the cluster type; TLS entries match by SNI', () => {
    const mk = (name: string, resolution: string, extra: object = {}) =>
      res('ServiceEntry', name, {
        hosts: [`${name}.example`],
        ports: [{ name: 'tls', number: 443, protocol: 'TLS' }],
        resolution,
        ...extra,
      });
    const g = gen([
      mk('none', 'NONE'),
      mk('static', 'STATIC', { endpoints: [{ address: '10.7.0.1' }] }),
      mk('dns', 'DNS'),
      mk('dnsrr', 'DNS_ROUND_ROBIN'),
    ]);
    assert.equal(cluster(g, 'outbound|443||none.example')?.type, 'ORIGINAL_DST');
    const st = cluster(g, 'outbound|443||static.example')!;
    assert.equal(st.type, 'STATIC');
    assert.equal(st.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address, '10.7.0.1');
    assert.equal(cluster(g, 'outbound|443||dns.example')?.type, 'STRICT_DNS');
    assert.equal(cluster(g, 'outbound|443||dnsrr.example')?.type, 'LOGICAL_DNS');
    const l443 = listener(g, '0.0.0.0_443') as Json;
    const none = l443.filter_chains.find((c: Json) => c.name === 'outbound|443||none.example');
    assert.deepEqual(none.filter_chain_match.server_names, ['none.example']);
    assert.equal(none.filter_chain_match.transport_protocol, 'tls');
    assert.deepEqual(l443.listener_filters, [{ name: 'envoy.filters.listener.tls_inspector' }]);
  });

  test('inbound: a chain and a 127.0.0.1 cluster per workload port', () => {
    const g = gen([...bookinfo]);
    const vi = listener(g, 'virtualInbound')!;
    assert.ok(
      vi.filter_chains.some(
        (c: Json) =>
          c.filter_chain_match.destination_port === 9080 && c.filters[0].typed_config.cluster === 'inbound|9080||',
      ),
    );
    const ic = cluster(g, 'inbound|9080||')!;
    assert.equal(ic.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address, '127.0.0.1');
  });
});

describe('proxy identity', () => {
  test('reads the Istio node id and metadata', () => {
    const p = proxyInfoFromNode({
      id: 'sidecar~10.233.77.15~ratings-v2-mysql-0.default~default.svc.cluster.local',
      metadata: {
        fields: {
          LABELS: { structValue: { fields: { app: { stringValue: 'ratings' } } } },
          SERVICE_ACCOUNT: { stringValue: 'sa' },
        },
      },
    });
    assert.equal(p.namespace, 'default');
    assert.equal(p.podName, 'ratings-v2-mysql-0');
    assert.deepEqual(p.ips, ['10.233.77.15']);
    assert.deepEqual(p.labels, { app: 'ratings' });
    assert.equal(p.serviceAccount, 'sa');
  });

  test('a malformed id is rejected with the expected form', () => {
    assert.throws(() => proxyInfoFromNode({ id: 'ratings' }), { code: 'XDS_INVALID_NODE', message: /<type>~<ip>~/ });
  });

  test('proxies of one shape share one generation', () => {
    const cfg = snapshot([...bookinfo, mysqlExternal]);
    const a = generateProxyResources(ratingsV2Mysql, cfg);
    const b = generateProxyResources(
      {
        ...ratingsV2Mysql,
        id: 'sidecar~10.233.77.16~ratings-v2-mysql-1.default~default.svc.cluster.local',
        podName: 'ratings-v2-mysql-1',
      },
      cfg,
    );
    assert.equal(a, b);
  });
});
