/**
 * Config pipeline benchmark: 10,000 ServiceEntries in one YAML file (plus the same set as one
 * JSON List), timed through parse → validate → analyse. Target: under 2 s for the YAML file.
 * Prints a table per phase (wall and CPU milliseconds) and, last, one JSON line.
 * Run: node --import tsx bench/config/validate.ts [count]
 */
import { loadavg } from 'node:os';
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

/** Wall and CPU (user + system, all threads) milliseconds of `fn`. */
function timed<T>(fn: () => T): { value: T; wallMs: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { value, wallMs, cpuMs: (c.user + c.system) / 1000 };
}

function run(label: string, text: string) {
  const parse = timed(() => parseManifests(text, label));
  const { resources, findings } = parse.value;
  const validate = timed(() => {
    for (const r of resources) findings.push(...validateResource(r));
  });
  const analysis = timed(() => findings.push(...analyze(resources.map((r) => normalizeResource(r)))));
  const ms = (n: number) => Math.round(n);
  return {
    input: label,
    bytes: text.length,
    objects: resources.length,
    findings: findings.length,
    parseMs: ms(parse.wallMs),
    validateMs: ms(validate.wallMs),
    analyzeMs: ms(analysis.wallMs),
    totalMs: ms(parse.wallMs + validate.wallMs + analysis.wallMs),
    parseCpuMs: ms(parse.cpuMs),
    validateCpuMs: ms(validate.cpuMs),
    analyzeCpuMs: ms(analysis.cpuMs),
    totalCpuMs: ms(parse.cpuMs + validate.cpuMs + analysis.cpuMs),
  };
}

const yamlText = Array.from({ length: count }, (_, i) => yamlOf(i)).join('---\n');
const jsonText = JSON.stringify(
  { apiVersion: 'v1', kind: 'List', items: Array.from({ length: count }, (_, i) => entry(i)) },
  null,
  2,
);

// The same entries without addresses: 1,000 ports each claimed by 10 entries, so analysis reports
// 9,000 TCP port conflicts (SLC0901) and validation 10,000 IST0134 warnings, each with its line.
const sharedPortsText = yamlText.replace(/ {2}addresses:\n {2}- .*\n/g, '');

const rows = [
  run('serviceentries.yaml', yamlText),
  run('serviceentries.json', jsonText),
  run('shared-ports.yaml', sharedPortsText),
];
const cell = (wall: number, cpu: number) => `${wall} / ${cpu}`.padStart(13);
console.log(
  `${'input'.padEnd(20)} ${'objects'.padStart(7)} ${'findings'.padStart(8)}   ms (wall / cpu):${'parse'.padStart(9)} ${'validate'.padStart(13)} ${'analyze'.padStart(13)} ${'total'.padStart(13)}`,
);
for (const r of rows) {
  console.log(
    `${r.input.padEnd(20)} ${String(r.objects).padStart(7)} ${String(r.findings).padStart(8)} ${''.padEnd(13)} ${cell(r.parseMs, r.parseCpuMs)} ${cell(r.validateMs, r.validateCpuMs)} ${cell(r.analyzeMs, r.analyzeCpuMs)} ${cell(r.totalMs, r.totalCpuMs)}`,
  );
}
const yamlTotal = rows[0]?.totalMs ?? 0;
console.log(
  JSON.stringify({
    bench: 'config/validate',
    count,
    targetMs: TARGET_MS,
    withinTarget: yamlTotal < TARGET_MS,
    loadAverage1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    results: rows,
  }),
);
