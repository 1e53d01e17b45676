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

type Chain = {
  filter_chain_match?: { prefix_ranges?: { address_prefix: string; prefix_len: number }[]; destination_port?: number };
};

function mysqlChain(g: GeneratedResources): Chain | undefined {
  const l = g.listeners.find((x) => x.name === '0.0.0.0_3306') as { filter_chains: Chain[] } | undefined;
  return l?.filter_chains.find((c) =>
    c.filter_chain_match?.prefix_ranges?.some((p) => p.address_prefix === '10.233.77.250' && p.prefix_len === 32),
  );
}

test('ratings-v2-mysql under REGISTRY_ONLY: no way to 10.233.77.250:3306 before the ServiceEntry', () => {
  const g = generateProxyResources(ratingsV2Mysql, snapshot([meshRegistryOnly, ...bookinfo]));
  assert.equal(mysqlChain(g), undefined);
  assert.equal(g.outboundMode, 'REGISTRY_ONLY');
  golden('ratings-v2-mysql.before', wireForm(g));
});

test('ratings-v2-mysql: the ServiceEntry adds the 3306 chain for its address, and removing it takes it away', () => {
  const withEntry = generateProxyResources(
    ratingsV2Mysql,
    snapshot([meshRegistryOnly, ...bookinfo, mysqlExternal], '2'),
  );
  const chain = mysqlChain(withEntry);
  assert.equal(chain?.filter_chain_match?.destination_port, 3306);
  assert.ok(withEntry.clusters.some((c) => c.name === 'outbound|3306||mysqldb.example' && c.type === 'ORIGINAL_DST'));
  assert.deepEqual(withEntry.nameTable.table['mysqldb.example']?.ips, ['10.233.77.250']);
  golden('ratings-v2-mysql.after', wireForm(withEntry));
  const removed = generateProxyResources(ratingsV2Mysql, snapshot([meshRegistryOnly, ...bookinfo], '3'));
  assert.equal(mysqlChain(removed), undefined);
  assert.ok(!removed.clusters.some((c) => c.name === 'outbound|3306||mysqldb.example'));
});
