/**
 * The proxy's xDS flavour against the control plane's own xDS server over real gRPC: delta by
 * default, state of the world when asked; either way it gets the same config and is in sync.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '@sluice/config';
import { StaticConfigSource, XdsServer } from '@sluice/controlplane';
import { startTestProxy } from '../testing/harness.js';

const meta = (name: string, namespace?: string) => ({
  name,
  ...(namespace ? { namespace } : {}),
  uid: `00000000-0000-0000-0000-0000000000${name.length.toString().padStart(2, '0')}`,
  resourceVersion: '1',
  generation: 1,
  creationTimestamp: '2026-01-01T00:00:00Z',
});

const resources: Resource[] = [
  {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'MeshConfig',
    metadata: meta('mesh'),
    spec: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } },
  },
  {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'ServiceEntry',
    metadata: meta('mysql-external', 'default'),
    spec: {
      hosts: ['mysqldb.example'],
      addresses: ['10.233.92.250/32'],
      ports: [{ name: 'tcp', number: 3306, protocol: 'tcp' }],
      location: 'MESH_EXTERNAL',
    },
  },
];

const nodeId = (pod: string) => `sidecar~10.233.92.10~${pod}.default~default.svc.cluster.local`;

test('a proxy speaks delta xDS by default and state of the world when asked, and both sync the same config', async (t) => {
  const server = new XdsServer({ source: new StaticConfigSource(resources), debounceMs: 5 });
  const port = await server.listen(['127.0.0.1'], 0);
  t.after(() => server.destroy());
  const nodeMetadata = { NAMESPACE: 'default', LABELS: { app: 'ratings' } };
  const byDefault = await startTestProxy({ xds: `127.0.0.1:${port}`, nodeId: nodeId('a-0'), nodeMetadata });
  t.after(() => byDefault.proxy.destroy());
  const sotw = await startTestProxy({
    xds: `127.0.0.1:${port}`,
    nodeId: nodeId('b-0'),
    nodeMetadata,
    xdsProtocol: 'sotw',
  });
  t.after(() => sotw.proxy.destroy());
  const deadline = Date.now() + 10_000;
  while (!(server.statuses().length === 2 && server.statuses().every((s) => s.inSync)) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  const statuses = server.statuses();
  assert.deepEqual(
    statuses.map((s) => [s.id, s.protocol, s.inSync]),
    [
      [nodeId('a-0'), 'delta', true],
      [nodeId('b-0'), 'sotw', true],
    ],
  );
  const listeners = (tp: typeof sotw) => Object.keys(tp.proxy.snapshot?.resources.listeners ?? {}).sort();
  assert.ok(listeners(byDefault).includes('10.233.92.250_3306'), listeners(byDefault).join(', '));
  assert.deepEqual(listeners(sotw), listeners(byDefault));
});
