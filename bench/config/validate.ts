/**
 * Config pipeline benchmark: 10,000 ServiceEntries in one YAML file (plus the same set as one
 * JSON List), timed through parse → validate → analyse. Target: under 2 s for the YAML file.
 * Run: node --import tsx bench/config/validate.ts [count]
 */
import { analyze, normalizeResource, parseManifests, validateResource } from '@sluice/config';

const count = Number(process.argv[2] ?? 10_000);
const TARGET_MS = 2000;

function entry(i: number) {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: { name: `db-${i}`, namespace: `team-${i % 50}` },
    spec: {
      hosts: [`db-${i}.example.com`],
      addresses: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`],
      ports: [{ name: 'tcp', number: 3000 + (i % 1000), protocol: 'TCP' }],
      location: 'MESH_EXTERNAL',
      resolution: 'NONE',
    },
  };
}

function yamlOf(i: number): string {
  const e = entry(i);
  return `apiVersion: ${e.apiVersion}
kind: ServiceEntry
metadata:
  name: ${e.metadata.name}
  namespace: ${e.metadata.namespace}
spec:
  hosts:
  - ${e.spec.hosts[0]}
  addresses:
  - ${e.spec.addresses[0]}
  ports:
  - name: tcp
    number: ${e.spec.ports[0]?.number}
    protocol: TCP
  location: MESH_EXTERNAL
  resolution: NONE
`;
}

function run(label: string, text: string) {
  const t0 = performance.now();
  const { resources, findings } = parseManifests(text, label);
  const t1 = performance.now();
  for (const r of resources) findings.push(...validateResource(r));
  const t2 = performance.now();
  findings.push(...analyze(resources.map((r) => normalizeResource(r))));
  const t3 = performance.now();
  return {
    input: label,
    bytes: text.length,
    objects: resources.length,
    findings: findings.length,
    parseMs: Math.round(t1 - t0),
    validateMs: Math.round(t2 - t1),
    analyzeMs: Math.round(t3 - t2),
    totalMs: Math.round(t3 - t0),
  };
}

const yamlText = Array.from({ length: count }, (_, i) => yamlOf(i)).join('---\n');
const jsonText = JSON.stringify(
  { apiVersion: 'v1', kind: 'List', items: Array.from({ length: count }, (_, i) => entry(i)) },
  null,
  2,
);

const rows = [run('serviceentries.yaml', yamlText), run('serviceentries.json', jsonText)];
console.log('input                  objects  findings  parse ms  validate ms  analyze ms  total ms');
for (const r of rows) {
  console.log(
    `${r.input.padEnd(22)} ${String(r.objects).padStart(7)} ${String(r.findings).padStart(9)} ${String(r.parseMs).padStart(9)} ${String(r.validateMs).padStart(12)} ${String(r.analyzeMs).padStart(11)} ${String(r.totalMs).padStart(9)}`,
  );
}
const yamlTotal = rows[0]?.totalMs ?? 0;
console.log(
  JSON.stringify({
    bench: 'config/validate',
    count,
    targetMs: TARGET_MS,
    withinTarget: yamlTotal < TARGET_MS,
    results: rows,
  }),
);
