/** The reference scenario's objects: Bookinfo in `default`, REGISTRY_ONLY, and the external MySQL entry. */
import type { Resource } from '@sluice/config';
import type { ConfigSnapshot, ProxyInfo } from '../types.js';

let uid = 0;
function meta(name: string, namespace: string | undefined, created: string, extra: Record<string, unknown> = {}) {
  uid++;
  return {
    name,
    ...(namespace === undefined ? {} : { namespace }),
    uid: `00000000-0000-0000-0000-${String(uid).padStart(12, '0')}`,
    resourceVersion: String(uid),
    generation: 1,
    creationTimestamp: created,
    ...extra,
  };
}

function service(name: string, clusterIP: string, created: string): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(name, 'default', created, { labels: { app: name, service: name } }),
    spec: { selector: { app: name }, clusterIP, ports: [{ name: 'http', port: 9080 }] },
  };
}

function pod(name: string, ip: string, labels: Record<string, string>, created: string): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta(name, 'default', created, { labels }),
    spec: { containers: [{ name: 'app', image: 'x', ports: [{ containerPort: 9080, name: 'http' }] }] },
    status: { phase: 'Running', podIP: ip },
  };
}

export const meshRegistryOnly: Resource = {
  apiVersion: 'sluice.dev/v1alpha1',
  kind: 'MeshConfig',
  metadata: meta('mesh', undefined, '2026-01-01T00:00:00Z'),
  spec: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } },
};

export const bookinfo: Resource[] = [
  service('productpage', '240.241.0.10', '2026-01-01T00:00:01Z'),
  service('details', '240.241.0.11', '2026-01-01T00:00:02Z'),
  service('reviews', '240.241.0.12', '2026-01-01T00:00:03Z'),
  service('ratings', '240.241.0.13', '2026-01-01T00:00:04Z'),
  pod('productpage-v1-0', '10.233.77.10', { app: 'productpage', version: 'v1' }, '2026-01-01T00:01:00Z'),
  pod('details-v1-0', '10.233.77.11', { app: 'details', version: 'v1' }, '2026-01-01T00:01:00Z'),
  pod('reviews-v1-0', '10.233.77.12', { app: 'reviews', version: 'v1' }, '2026-01-01T00:01:00Z'),
  pod('reviews-v2-0', '10.233.77.13', { app: 'reviews', version: 'v2' }, '2026-01-01T00:01:00Z'),
  pod('reviews-v3-0', '10.233.77.14', { app: 'reviews', version: 'v3' }, '2026-01-01T00:01:00Z'),
  pod('ratings-v2-mysql-0', '10.233.77.15', { app: 'ratings', version: 'v2-mysql' }, '2026-01-01T00:01:00Z'),
];

export const mysqlExternal: Resource = {
  apiVersion: 'networking.istio.io/v1alpha3',
  kind: 'ServiceEntry',
  metadata: meta('mysql-external', 'default', '2026-01-02T00:00:00Z'),
  spec: {
    hosts: ['mysqldb.example'],
    addresses: ['10.233.77.250/32'],
    ports: [{ name: 'tcp', number: 3306, protocol: 'tcp' }],
    location: 'MESH_EXTERNAL',
  },
};

export const ratingsV2Mysql: ProxyInfo = {
  id: 'sidecar~10.233.77.15~ratings-v2-mysql-0.default~default.svc.cluster.local',
  type: 'sidecar',
  ips: ['10.233.77.15'],
  podName: 'ratings-v2-mysql-0',
  namespace: 'default',
  labels: { app: 'ratings', version: 'v2-mysql' },
  serviceAccount: 'bookinfo-ratings-v2',
  workloadName: 'ratings-v2-mysql',
};

export function snapshot(resources: Resource[], revision = '1'): ConfigSnapshot {
  return { revision, resources };
}
