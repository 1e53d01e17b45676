/**
 * `sluice analyze` against a running control plane (real process for the CLI, control plane on
 * ephemeral ports with a temp data dir): the live config alone, and files applied over it (--live).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KubeClient, loadKubeconfig } from '@sluice/agent';
import type { Resource } from '@sluice/config';
import { type ControlPlane, startControlPlane } from '@sluice/controlplane';
import pino from 'pino';

const SLUICE = fileURLToPath(new URL('../../bin/sluice', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'slt-status-analyze-'));
let cp: ControlPlane;
let client: KubeClient;

function sluice(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      SLUICE,
      args,
      {
        cwd: dir,
        timeout: 60_000,
        env: {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          HOME: join(dir, 'home'),
          NO_COLOR: '1',
          SLUICE_KUBECONFIG: cp.kubeconfigPath,
        },
      },
      (err, out, errOut) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out, err: errOut }),
    );
  });
}

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const entry = (name: string, addresses?: string[]): Resource => ({
  apiVersion: 'networking.istio.io/v1beta1',
  kind: 'ServiceEntry',
  metadata: { name, namespace: 'default' },
  spec: {
    hosts: [`${name}.example.com`],
    ...(addresses ? { addresses } : {}),
    location: 'MESH_EXTERNAL',
    resolution: 'NONE',
    ports: [{ name: 'tcp', number: 3306, protocol: 'TCP' }],
  },
});

const DESTINATION_RULE = `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: db-old
spec:
  host: db-old.example.com
  subsets:
  - name: v1
    labels:
      version: v1
`;

const FIXED_ENTRIES = `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: db-old
spec:
  hosts: [db-old.example.com]
  addresses: [192.0.2.10]
  location: MESH_EXTERNAL
  resolution: NONE
  ports:
  - {name: tcp, number: 3306, protocol: TCP}
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: db-young
spec:
  hosts: [db-young.example.com]
  addresses: [192.0.2.11]
  location: MESH_EXTERNAL
  resolution: NONE
  ports:
  - {name: tcp, number: 3306, protocol: TCP}
`;

before(async () => {
  cp = await startControlPlane({
    dataDir: join(dir, 'data'),
    apiPort: 0,
    xdsPort: 0,
    logger: pino({ level: 'silent' }),
  });
  client = new KubeClient(loadKubeconfig(cp.kubeconfigPath));
  await client.create(entry('db-old'));
  await new Promise((r) => setTimeout(r, 1100)); // a later creationTimestamp (seconds precision)
  await client.create(entry('db-young'));
  await client.create({
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'VirtualService',
    metadata: { name: 'db-route', namespace: 'default' },
    spec: {
      hosts: ['db-old.example.com'],
      tcp: [{ route: [{ destination: { host: 'db-old.example.com', subset: 'v1', port: { number: 3306 } } }] }],
    },
  });
});

after(async () => {
  client?.close();
  await cp?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

test('with no -f, the live config is analysed: the shared-port loser and the missing subset', async () => {
  const r = await sluice(['analyze']);
  assert.equal(r.code, 1, r.out + r.err);
  assert.match(
    r.out,
    /^ServiceEntry default\/db-young\n(?: {2}.*\n)*? {2}Error \[SLC0901\] spec\.ports\[0\]\n {4}port 3306 is also claimed by ServiceEntry default\/db-old/m,
  );
  assert.match(r.out, /^VirtualService default\/db-route\n(?: {2}.*\n)*? {2}Error \[IST0101\]/m);
  assert.match(r.out, /subset v1|"v1"/);
  assert.doesNotMatch(
    r.out,
    /^ServiceEntry default\/db-old\n(?: {2}.*\n)*? {2}Error \[SLC0901\]/m,
    'the winner is fine',
  );

  const json = await sluice(['analyze', '-o', 'json']);
  assert.equal(json.code, 1);
  const doc = JSON.parse(json.out) as {
    findings: { code: string; resource?: { name: string } }[];
    summary: { objects: number };
  };
  assert.deepEqual(
    doc.findings.filter((f) => f.code === 'SLC0901').map((f) => f.resource?.name),
    ['db-young'],
  );
  assert.ok(doc.summary.objects >= 3, `objects: ${doc.summary.objects}`);
});

test('-f --live analyses the files applied over the live config', async () => {
  // Only the missing subset fixed: the live conflict is still there.
  const dr = write('dr.yaml', DESTINATION_RULE);
  const partial = await sluice(['analyze', '-f', dr, '--live']);
  assert.equal(partial.code, 1, partial.out);
  assert.match(partial.out, /Error \[SLC0901\]/);
  assert.doesNotMatch(partial.out, /IST0101/);

  // Both fixed: addresses for the entries (they replace the live objects) and the subset defined.
  const fixed = await sluice(['analyze', '-f', dr, '-f', write('entries.yaml', FIXED_ENTRIES), '--live']);
  assert.equal(fixed.code, 0, fixed.out);
  assert.match(fixed.out, /No validation issues found/);

  // Nothing was applied: the live config alone still has both errors.
  const live = await sluice(['analyze']);
  assert.equal(live.code, 1);
  assert.match(live.out, /SLC0901/);
  assert.match(live.out, /IST0101/);
});

test('-f --live: a new entry with DNS resolution gets a VIP, as the control plane would give it', async () => {
  // Taken as written, an address-less DNS entry on 3306 is one more (the newest) claimant of the port...
  const dns = write(
    'dns.yaml',
    FIXED_ENTRIES.split('---\n')[1]!
      .replace('db-young', 'db-dns')
      .replace('db-young.example.com', 'db-dns.example.com')
      .replace('  addresses: [192.0.2.11]\n', '')
      .replace('resolution: NONE', 'resolution: DNS'),
  );
  const r = await sluice(['analyze', '-f', dns, '-f', write('dr2.yaml', DESTINATION_RULE), '--live']);
  // ...but applied over the live config it is allocated a VIP: only the live conflict remains.
  assert.equal(r.code, 1, r.out);
  const codes = [...r.out.matchAll(/^ {2}Error \[(\w+)\]/gm)].map((m) => m[1]);
  assert.deepEqual(codes, ['SLC0901'], r.out);
  assert.match(r.out, /^ServiceEntry default\/db-young$/m);
  assert.doesNotMatch(r.out, /^ServiceEntry default\/db-dns\n(?: {2}.*\n)*? {2}Error/m);
});

test('without -f and without a control plane, the error says what to give', async () => {
  const r = await new Promise<{ code: number; err: string }>((resolve) => {
    execFile(
      SLUICE,
      ['analyze', '--kubeconfig', join(dir, 'missing-kubeconfig')],
      { cwd: dir, timeout: 60_000, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: join(dir, 'home') } },
      (err, _out, errOut) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, err: errOut }),
    );
  });
  assert.equal(r.code, 1);
  assert.match(r.err, /required option '-f, --filename <path>' not specified, and there is no control plane/);
  assert.match(r.err, /missing-kubeconfig/);
});
