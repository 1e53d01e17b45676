/**
 * Secrets, the MySQL half: the ratings user's password lives in the Secret and in the ratings
 * process's environment only. After Bookinfo has used it (blocked and allowed), it appears in no log
 * file (containers, sidecars), no proxy's config_dump, no process's command line, and no kubectl output.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fetchProductPage } from '../../packages/cli/src/demo/product-page.js';
import { type BookinfoMesh, mustKubectl, podsReady, registryOnly, startBookinfoMesh } from '../e2e/lib/bookinfo.js';
import { recordScenario } from './lib/summary.js';

let m: BookinfoMesh;
const outputs: string[] = [];

before(async () => {
  m = await startBookinfoMesh({ meshName: 'hardsec', subnet: '10.233.145.0/24' });
  await registryOnly(m);
  for (const line of [
    'kubectl apply -f samples/bookinfo/platform/kube/bookinfo.yaml',
    'kubectl apply -f samples/bookinfo/networking/destination-rule-all.yaml',
    `kubectl apply -f ${m.secretFile}`,
    'kubectl apply -f samples/bookinfo/platform/kube/bookinfo-ratings-v2-mysql.yaml',
    'kubectl apply -f samples/bookinfo/networking/virtual-service-ratings-mysql.yaml',
    'kubectl get secret mysql-credentials',
    'kubectl get deployment ratings-v2-mysql -o yaml',
  ]) {
    const r = await mustKubectl(m.kubectl, line);
    outputs.push(r.stdout, r.stderr);
  }
  await podsReady(m, ['productpage-v1', 'details-v1', 'reviews-v3', 'ratings-v2-mysql']);
});

after(async () => {
  await m?.close();
});

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...filesUnder(p));
    else if (st.isFile() && st.size < 64 * 1024 * 1024) out.push(p);
  }
  return out;
}

test('the MySQL password appears in no log, config dump, command line or kubectl output', async () => {
  const password = m.creds.password;
  assert.ok(password.length >= 16, 'prepare-mysql generated a real password');
  // Use it: page views while blocked, then with the ServiceEntry that lets ratings reach MySQL.
  let requests = 0;
  for (let i = 0; i < 3; i++, requests++) await fetchProductPage(m.pageUrl).catch(() => undefined);
  const se = `kubectl apply -f - <<EOF
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: mysql-external
spec:
  hosts: [mysqldb.example]
  addresses: [${m.mysqlIp}/32]
  ports: [{name: tcp, number: 3306, protocol: tcp}]
  location: MESH_EXTERNAL
EOF`;
  const r = await mustKubectl(m.kubectl, se);
  outputs.push(r.stdout, r.stderr);
  let starred = false;
  for (let i = 0; i < 40 && !starred; i++, requests++) {
    const page = await fetchProductPage(m.pageUrl).catch(() => undefined);
    starred = (page?.html ?? '').includes('glyphicon glyphicon-star');
    if (!starred) await new Promise((res) => setTimeout(res, 250));
  }
  assert.ok(starred, 'ratings reached MySQL with the password (stars shown)');

  // Logs: every file the node wrote (container and sidecar logs).
  const logFiles = filesUnder(m.rt.podLogDir);
  assert.ok(logFiles.some((f) => f.endsWith('sidecar.log')));
  let bytes = 0;
  const leaks: string[] = [];
  for (const f of logFiles) {
    const text = readFileSync(f, 'utf8');
    bytes += text.length;
    if (text.includes(password)) leaks.push(f);
  }
  // config_dump of every connected proxy, through the API's debug endpoint.
  for (const s of m.rt.cp.xds.statuses()) {
    const dump = JSON.stringify(m.rt.cp.xds.configDump(s.id) ?? {});
    bytes += dump.length;
    if (dump.includes(password)) leaks.push(`config_dump ${s.id}`);
  }
  // Command lines of every process on the machine.
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(password)) leaks.push(`/proc/${pid}/cmdline`);
    } catch {
      /* process gone */
    }
  }
  for (const o of outputs) if (o.includes(password)) leaks.push('kubectl output');
  assert.deepEqual(leaks, []);
  recordScenario({
    scenario: 'secrets: MySQL password',
    load: `${requests} page views, ratings-v2-mysql blocked then allowed`,
    faults: 'grep of pod and sidecar logs, config_dump of every proxy, /proc/*/cmdline, kubectl output',
    requests,
    bytes,
    leaks: leaks.length,
    losses: 0,
  });
});
