/**
 * Golden files for the reference scenario: what the `ratings-v2-mysql` proxy receives under
 * REGISTRY_ONLY before and after the `mysql-external` ServiceEntry. Regenerate with
 * `SLUICE_UPDATE_GOLDEN=1 node --import tsx --test packages/controlplane/src/translate/golden.test.ts`.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { canonicalize, TypeUrl } from '@sluice/xds';
import { generateProxyResources } from './generate.js';
import { bookinfo, meshRegistryOnly, mysqlExternal, ratingsV2Mysql, snapshot } from './testdata/seed.js';
import type { GeneratedResources } from './types.js';

const update = process.env.SLUICE_UPDATE_GOLDEN === '1';

/** The resources as a proxy decodes them off the wire. */
function wireForm(g: GeneratedResources) {
  return {
    listeners: g.listeners.map((x) => canonicalize(TypeUrl.Listener, x)),
    clusters: g.clusters.map((x) => canonicalize(TypeUrl.Cluster, x)),
    routes: g.routes.map((x) => canonicalize(TypeUrl.RouteConfiguration, x)),
    endpoints: g.endpoints.map((x) => canonicalize(TypeUrl.ClusterLoadAssignment, x)),
    nameTable: canonicalize(TypeUrl.NameTable, g.nameTable as unknown as Record<string, unknown>),
    conflicts: g.conflicts,
  };
}

function golden(name: string, actual: unknown): void {
  const file = fileURLToPath(new URL(`./testdata/${name}.json`, import.meta.url));
  const text = `${JSON.stringify(actual, null, 2)}\n`;
  if (update) writeFileSync(file, text);
  assert.equal(text, readFileSync(file, 'utf8'), `${name}.json differs; rerun with SLUICE_UPDATE_GOLDEN=1 if intended`);
}

type Listener = {
  name: string;
  address?: { socket_address?: { address?: string; port_value?: number } };
  bind_to_port?: boolean;
  traffic_direction?: string;
  filter_chains: { filter_chain_match?: { prefix_ranges?: unknown[]; destination_port?: number } }[];
  default_filter_chain?: unknown;
};

/** The listener Istio gives a sidecar for a TCP service with an address: `<ip>_<port>`. */
function mysqlListener(g: GeneratedResources): Listener | undefined {
  return g.listeners.find((x) => x.name === '10.233.77.250_3306') as Listener | undefined;
}

/** Any /32 chain for the address in a wildcard listener (the address has its own listener instead). */
function wildcardChainFor(g: GeneratedResources, ip: string): boolean {
  return g.listeners.some((l) =>
    ((l as Listener).filter_chains ?? []).some((c) =>
      ((c.filter_chain_match?.prefix_ranges ?? []) as { address_prefix: string }[]).some(
        (p) => p.address_prefix === ip,
      ),
    ),
  );
}

test('ratings-v2-mysql under REGISTRY_ONLY: no way to 10.233.77.250:3306 before the ServiceEntry', () => {
  const g = generateProxyResources(ratingsV2Mysql, snapshot([meshRegistryOnly, ...bookinfo]));
  assert.equal(mysqlListener(g), undefined);
  assert.ok(!g.listeners.some((l) => l.name.endsWith('_3306')));
  assert.equal(g.outboundMode, 'REGISTRY_ONLY');
  golden('ratings-v2-mysql.before', wireForm(g));
});

test('ratings-v2-mysql: the ServiceEntry adds a listener for its address and port, and removing it takes it away', () => {
  const withEntry = generateProxyResources(
    ratingsV2Mysql,
    snapshot([meshRegistryOnly, ...bookinfo, mysqlExternal], '2'),
  );
  const l = mysqlListener(withEntry);
  assert.deepEqual(l?.address, { socket_address: { address: '10.233.77.250', port_value: 3306 } });
  assert.equal(l?.bind_to_port, false);
  assert.equal(l?.traffic_direction, 'OUTBOUND');
  assert.equal(l?.filter_chains.length, 1);
  assert.equal(l?.filter_chains[0]?.filter_chain_match?.destination_port, 3306);
  assert.equal(l?.filter_chains[0]?.filter_chain_match?.prefix_ranges, undefined);
  assert.ok(l?.default_filter_chain, 'falls back like the per-port listeners');
  assert.ok(!wildcardChainFor(withEntry, '10.233.77.250'));
  assert.ok(!withEntry.listeners.some((x) => x.name === '0.0.0.0_3306'), 'no wildcard listener for the port');
  assert.ok(withEntry.clusters.some((c) => c.name === 'outbound|3306||mysqldb.example' && c.type === 'ORIGINAL_DST'));
  assert.deepEqual(withEntry.nameTable.table['mysqldb.example']?.ips, ['10.233.77.250']);
  golden('ratings-v2-mysql.after', wireForm(withEntry));
  const removed = generateProxyResources(ratingsV2Mysql, snapshot([meshRegistryOnly, ...bookinfo], '3'));
  assert.equal(mysqlListener(removed), undefined);
  assert.ok(!removed.clusters.some((c) => c.name === 'outbound|3306||mysqldb.example'));
});
