import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '@sluice/config';
import { generateProxyResources } from './generate.js';
import { bookinfo, meshRegistryOnly, mysqlExternal, ratingsV2Mysql, snapshot } from './testdata/seed.js';
import type { ProxyInfo } from './types.js';

const reviewsV1: ProxyInfo = {
  ...ratingsV2Mysql,
  id: 'sidecar~10.233.77.12~reviews-v1-0.default~default.svc.cluster.local',
  podName: 'reviews-v1-0',
  labels: { app: 'reviews', version: 'v1' },
};

function entry(name: string, port: number, address?: string, extra: Record<string, unknown> = {}): Resource {
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'ServiceEntry',
    metadata: {
      name,
      namespace: 'default',
      creationTimestamp: `2026-01-02T00:00:${String(port % 60).padStart(2, '0')}Z`,
    },
    spec: {
      hosts: [`${name}.example`],
      ...(address ? { addresses: [address] } : {}),
      ports: [{ name: 'tcp', number: port, protocol: 'TCP' }],
      location: 'MESH_EXTERNAL',
      ...extra,
    },
  };
}

const subsetsRule: Resource = {
  apiVersion: 'networking.istio.io/v1beta1',
  kind: 'DestinationRule',
  metadata: { name: 'a-rule', namespace: 'default', creationTimestamp: '2026-01-03T00:00:00Z' },
  spec: {
    host: 'a.example',
    trafficPolicy: { connectionPool: { tcp: { idleTimeout: '30s' } } },
    subsets: [{ name: 'one', labels: { v: '1' } }],
  },
};

const routeToSubset: Resource = {
  apiVersion: 'networking.istio.io/v1beta1',
  kind: 'VirtualService',
  metadata: { name: 'a-route', namespace: 'default', creationTimestamp: '2026-01-03T00:00:01Z' },
  spec: {
    hosts: ['a.example'],
    tcp: [
      { match: [{ sourceLabels: { app: 'reviews' } }], route: [{ destination: { host: 'a.example', subset: 'one' } }] },
    ],
  },
};

/**
 * Every step is generated twice: on the resource objects carried over from the previous step
 * (what the control plane does, reusing clusters and listeners of unchanged services) and on fresh
 * copies of them (nothing to reuse). A user sees one config either way.
 */
test('generation reusing the previous snapshot equals generation from scratch, step by step', () => {
  const a = entry('a', 7000, '10.9.0.1/32');
  const b = entry('b', 7000, '10.9.0.2/32');
  const c = entry('c', 7000); // no address: takes the whole port
  const d = entry('d', 7001, undefined, { resolution: 'DNS' }); // auto-allocated VIP
  const aMoved = entry('a', 7002, '10.9.0.1/32');
  const steps: Resource[][] = [
    [meshRegistryOnly, ...bookinfo],
    [meshRegistryOnly, ...bookinfo, a],
    [meshRegistryOnly, ...bookinfo, a, b],
    [meshRegistryOnly, ...bookinfo, a, b, c, d],
    [meshRegistryOnly, ...bookinfo, a, b, c, d, subsetsRule],
    [meshRegistryOnly, ...bookinfo, a, b, c, d, subsetsRule, routeToSubset],
    [meshRegistryOnly, ...bookinfo, aMoved, b, c, d, subsetsRule, routeToSubset],
    [meshRegistryOnly, ...bookinfo, aMoved, c, d, mysqlExternal],
    [meshRegistryOnly, ...bookinfo, b],
    [...bookinfo, b],
  ];
  // First the whole sequence on carried-over objects (as the server sees it), then each step cold.
  const reused = steps.map((resources, i) =>
    [ratingsV2Mysql, reviewsV1].map((p) => JSON.stringify(generateProxyResources(p, snapshot(resources, String(i))))),
  );
  steps.forEach((resources, i) => {
    [ratingsV2Mysql, reviewsV1].forEach((proxy, j) => {
      const fresh = generateProxyResources(proxy, snapshot(structuredClone(resources), `cold-${i}`));
      assert.deepEqual(JSON.parse(reused[i]![j]!), JSON.parse(JSON.stringify(fresh)), `step ${i}, ${proxy.podName}`);
    });
  });
});

test('shapes that differ only in labels nothing selects share their outbound objects', () => {
  const cfg = snapshot([meshRegistryOnly, ...bookinfo, mysqlExternal]);
  const one = generateProxyResources({ ...ratingsV2Mysql, labels: { app: 'x1' } }, cfg);
  const two = generateProxyResources({ ...ratingsV2Mysql, labels: { app: 'x2' } }, cfg);
  assert.notEqual(one, two);
  assert.equal(one.nameTable, two.nameTable);
  const mysql = (g: typeof one) => g.clusters.find((c) => c.name === 'outbound|3306||mysqldb.example');
  assert.ok(mysql(one));
  assert.equal(mysql(one), mysql(two));
});
