/**
 * The scenario of Istio's "Consuming External TCP Services" on Sluice, step by step, each step
 * checking that it shows what the article says it shows (docs/egress-tcp.md is its walkthrough).
 * The environment runs in its own process (runtime-process.ts); this side only types kubectl
 * commands, reads the API, the pods' access logs and the product page, like a person would.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KubeClient, loadKubeconfig, repoRoot } from '@sluice/agent';
import { findBlockedConnections } from './access-log.js';
import { type KubectlResult, type KubectlRunner, kubectlRunner } from './kubectl.js';
import type { DemoLayout } from './layout.js';
import { removeDemoLeftovers } from './leftovers.js';
import { mysqlAs, prepareMysql, readSecretCredentials } from './mysql-admin.js';
import { podTable, waitForPodsReady } from './pods.js';
import {
  describeReviews,
  fetchProductPage,
  type ProductPageView,
  RATINGS_UNAVAILABLE,
  showsOneStar,
  showsRatingsUnavailable,
} from './product-page.js';
import { DemoReport } from './report.js';
import { type RuntimeInfo, spawnDemoRuntime } from './runtime-process.js';

export const STEP_COUNT = 13;

/** The host name the ServiceEntry gives the database (for a TCP port it takes no part in matching). */
export const MYSQL_DB_HOST_NAME = 'mysqldb.example';

export const BOOKINFO_DEPLOYMENTS = [
  'details-v1',
  'ratings-v1',
  'reviews-v1',
  'reviews-v2',
  'reviews-v3',
  'productpage-v1',
  'ratings-v2-mysql',
];

/** The article's step 2 of "Mesh-external service entry for an external MySQL instance", verbatim. */
export const SERVICE_ENTRY_COMMAND = `kubectl apply -f - <<EOF
apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata:
  name: mysql-external
spec:
  hosts:
  - $MYSQL_DB_HOST
  addresses:
  - $MYSQL_DB_IP/32
  ports:
  - name: tcp
    number: $MYSQL_DB_PORT
    protocol: tcp
  location: MESH_EXTERNAL
EOF`;

export const REGISTRY_ONLY_COMMAND = `kubectl apply -f - <<EOF
apiVersion: sluice.dev/v1alpha1
kind: MeshConfig
metadata:
  name: mesh
spec:
  outboundTrafficPolicy:
    mode: REGISTRY_ONLY
EOF`;

const RATINGS_V2_MYSQL = path.join(
  repoRoot,
  'samples',
  'bookinfo',
  'platform',
  'kube',
  'bookinfo-ratings-v2-mysql.yaml',
);

/**
 * The article's edit of bookinfo-ratings-v2-mysql.yaml: MYSQL_DB_HOST set to the database's
 * address. (User and password already come from the Secret mysql-credentials in Sluice's copy.)
 */
export function patchRatingsV2Mysql(manifest: string, host: string): string {
  const re = /(- name: MYSQL_DB_HOST\s*\n\s*value:\s*)("?)mysqldb\2\s*$/m;
  if (!re.test(manifest))
    throw new Error('bookinfo-ratings-v2-mysql.yaml: no "MYSQL_DB_HOST value: mysqldb" lines to edit');
  return manifest.replace(re, `$1"${host}"`);
}

export interface ScenarioOptions {
  layout: DemoLayout;
  write: (text: string) => void;
  /** Called between steps when the user asked to go step by step. */
  pause?: () => Promise<void>;
  /** Set when Ctrl-C arrived; the scenario stops at the next step boundary. */
  aborted?: () => boolean;
}

export interface ScenarioResult {
  report: DemoReport;
  /** Set when the environment came up (it is left running; the caller decides when to stop it). */
  runtime?: RuntimeInfo;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the page until `good(page)` or the time is up; returns the last view (or the last error). */
async function pollPage(
  url: string,
  good: (p: ProductPageView) => boolean,
  timeoutMs: number,
): Promise<{ page?: ProductPageView; error?: string }> {
  const deadline = Date.now() + timeoutMs;
  let last: { page?: ProductPageView; error?: string } = {};
  for (;;) {
    try {
      last = { page: await fetchProductPage(url, { timeoutMs: 15_000 }) };
      if (good(last.page as ProductPageView)) return last;
    } catch (e) {
      last = { error: (e as Error).message };
    }
    if (Date.now() > deadline) return last;
    await sleep(500);
  }
}

const seenText = (r: { page?: ProductPageView; error?: string }) =>
  r.page ? describeReviews(r.page).join('; ') : `no page (${r.error ?? 'no answer'})`;

function showResult(report: DemoReport, r: KubectlResult): void {
  report.output(r.stdout);
  if (r.code !== 0) report.output(r.stderr);
}

export async function runScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const { layout } = o;
  const report = new DemoReport(o.write, STEP_COUNT);
  const result: ScenarioResult = { report };
  const mysqlAddr = `${layout.mysqlIp}:3306`;
  const between = async () => {
    if (o.aborted?.()) return false;
    await o.pause?.();
    return !o.aborted?.();
  };

  // 1
  report.begin('Removing leftovers of an earlier demo');
  const found = await removeDemoLeftovers(layout);
  report.ok(found.length ? `removed: ${found.join('; ')}` : 'nothing left from an earlier demo');
  if (!(await between())) return result;

  // 2
  report.begin('Starting the control plane, the mesh network, the node agent and the external MySQL');
  report.say(`(environment log: ${layout.runtimeLog})`);
  let rt: RuntimeInfo;
  try {
    rt = await spawnDemoRuntime(layout);
  } catch (e) {
    report.fail('the environment to start', (e as Error).message);
    return result;
  }
  result.runtime = rt;
  for (const line of rt.started) report.say(`- ${line}`);
  report.say(`kubeconfig: ${rt.kubeconfig}`);
  report.ok('control plane (SQLite store), mesh bridge, node agent, MariaDB and the port forward are up');
  const kubectl: KubectlRunner = kubectlRunner({
    kubeconfig: rt.kubeconfig,
    homeDir: path.join(layout.dataDir, 'home'),
  });
  const client = new KubeClient(loadKubeconfig(rt.kubeconfig));
  const pageUrl = `${rt.pageBaseUrl}/productpage`;
  try {
    if (!(await between())) return result;

    // 3
    report.begin('Blocking egress by default (REGISTRY_ONLY), like meshConfig.outboundTrafficPolicy in Istio');
    report.command(REGISTRY_ONLY_COMMAND);
    const mc = await kubectl(REGISTRY_ONLY_COMMAND);
    showResult(report, mc);
    if (mc.code === 0 && /meshconfig\.sluice\.dev\/mesh (created|configured|unchanged)/.test(mc.stdout))
      report.ok('the mesh now blocks every destination it does not know');
    else report.fail('"meshconfig.sluice.dev/mesh created"', (mc.stdout + mc.stderr).trim());
    if (!(await between())) return result;

    // 4
    report.begin(`Setting up the ratings database on the external MySQL (${mysqlAddr}, outside the mesh)`);
    const secretFile = path.join(layout.dataDir, 'mysql-credentials.yaml');
    report.command(
      `MYSQL_ADMIN_SOCKET=${rt.mysql.socketPath} node --import tsx samples/bookinfo/scripts/prepare-mysql.ts --secret-out ${secretFile}`,
    );
    const prep = await prepareMysql(rt.mysql.socketPath, secretFile);
    report.output(prep.stdout);
    if (prep.code !== 0) {
      report.output(prep.stderr);
      report.fail('prepare-mysql to succeed', `exit code ${prep.code}`);
      return result;
    }
    const creds = readSecretCredentials(secretFile);
    report.say(`export MYSQL_DB_HOST=${MYSQL_DB_HOST_NAME} MYSQL_DB_IP=${layout.mysqlIp} MYSQL_DB_PORT=3306`);
    report.command(`mysql -u bookinfo -p --host ${layout.mysqlIp} --port 3306 -e "select * from test.ratings;"`);
    const sel = await mysqlAs(creds, layout.mysqlIp, 3306, 'select * from test.ratings;');
    report.output(sel.code === 0 ? sel.stdout : sel.stderr);
    report.command(`mysql -u bookinfo -p --host ${layout.mysqlIp} --port 3306 -e "update test.ratings set rating=5;"`);
    const upd = await mysqlAs(creds, layout.mysqlIp, 3306, 'update test.ratings set rating=5;');
    report.output(upd.stderr || upd.stdout);
    const rows = sel.stdout.match(/\|\s+\d+\s+\|\s+1\s+\|/g) ?? [];
    if (sel.code === 0 && rows.length === 2 && upd.code !== 0 && /UPDATE command denied/i.test(upd.stderr))
      report.ok('both ratings are 1 (the visual clue); user bookinfo may SELECT but not UPDATE');
    else
      report.fail(
        'two rows with rating 1 and "UPDATE command denied" for bookinfo',
        `${sel.stdout.trim() || sel.stderr.trim()} / update exit ${upd.code}: ${upd.stderr.trim()}`,
      );
    if (!(await between())) return result;

    // 5
    report.begin('Deploying Bookinfo with ratings v2-mysql (real kubectl 1.20)');
    const patched = path.join(layout.dataDir, 'bookinfo-ratings-v2-mysql.yaml');
    writeFileSync(patched, patchRatingsV2Mysql(readFileSync(RATINGS_V2_MYSQL, 'utf8'), layout.mysqlIp));
    const applies = [
      'kubectl apply -f samples/bookinfo/platform/kube/bookinfo.yaml',
      'kubectl apply -f samples/bookinfo/networking/destination-rule-all.yaml',
      `kubectl apply -f ${secretFile}`,
      `kubectl apply -f ${patched}`,
      'kubectl apply -f samples/bookinfo/networking/virtual-service-ratings-mysql.yaml',
    ];
    let deployed = true;
    for (const line of applies) {
      if (line.endsWith(patched)) {
        report.say(
          `The article edits the MYSQL_DB_HOST lines of bookinfo-ratings-v2-mysql.yaml; this applies an edited copy with\n  - name: MYSQL_DB_HOST\n    value: "${layout.mysqlIp}"`,
        );
      }
      report.command(line);
      const r = await kubectl(line);
      showResult(report, r);
      if (r.code !== 0) deployed = false;
    }
    if (deployed)
      report.ok('Bookinfo, its destination rules, the Secret, ratings v2-mysql and the virtual services are applied');
    else {
      report.fail('every kubectl apply to succeed', 'an apply failed (output above)');
      return result;
    }
    if (!(await between())) return result;

    // 6
    report.begin('Waiting for the pods to be ready');
    const missing = await waitForPodsReady(client, BOOKINFO_DEPLOYMENTS, 120_000);
    report.output((await podTable(client)).join('\n'));
    if (missing.length === 0) report.ok(`${BOOKINFO_DEPLOYMENTS.length} pods ready, each with its sidecar (2/2)`);
    else {
      report.fail('a ready pod for every deployment', `not ready: ${missing.join(', ')}`);
      return result;
    }
    if (!(await between())) return result;

    // 7
    report.begin(`Opening the product page: ${pageUrl}`);
    const blocked = await pollPage(pageUrl, showsRatingsUnavailable, 60_000);
    report.output(blocked.page ? describeReviews(blocked.page).join('\n') : '');
    if (blocked.page && showsRatingsUnavailable(blocked.page))
      report.ok(`each review says "${RATINGS_UNAVAILABLE}": the mesh blocked the database`);
    else report.fail(`"${RATINGS_UNAVAILABLE}" under each review`, seenText(blocked));
    if (!(await between())) return result;

    // 8
    report.begin("The blocked connection in the ratings-v2-mysql sidecar's access log");
    // The page of step 7 may have said "unavailable" before reviews routed to ratings-v2-mysql
    // (its sidecar then refused the ratings call itself): view the page again, as a user would
    // reload it, until ratings-v2-mysql has tried the database and its sidecar has logged it.
    let lines = findBlockedConnections(rt.podLogDir, 'ratings-v2-mysql-', mysqlAddr);
    for (let i = 0; i < 60 && lines.length === 0; i++) {
      await fetchProductPage(pageUrl, { timeoutMs: 15_000 }).catch(() => undefined);
      await sleep(500);
      lines = findBlockedConnections(rt.podLogDir, 'ratings-v2-mysql-', mysqlAddr);
    }
    const last = lines.at(-1);
    if (last) {
      report.say(`${path.join(rt.podLogDir, `default_${last.pod}`, 'sidecar.log')}:`);
      report.output(last.line);
    }
    if (last && last.source_workload === 'ratings-v2-mysql' && last.response_flags === 'UH')
      report.ok(
        `${lines.length} connection(s) from workload ${last.source_workload} to ${last.destination} went to BlackHoleCluster (flag UH)`,
      );
    else
      report.fail(
        `a BlackHoleCluster line for ${mysqlAddr} from workload ratings-v2-mysql with flag UH`,
        last ? last.line : 'no such line',
      );
    if (!(await between())) return result;

    // 9
    const seEnv = { MYSQL_DB_HOST: MYSQL_DB_HOST_NAME, MYSQL_DB_IP: layout.mysqlIp, MYSQL_DB_PORT: '3306' };
    report.begin('Allowing the database: a mesh-external TCP ServiceEntry');
    report.command(`export MYSQL_DB_HOST=${seEnv.MYSQL_DB_HOST} MYSQL_DB_IP=${seEnv.MYSQL_DB_IP} MYSQL_DB_PORT=3306`);
    report.command(SERVICE_ENTRY_COMMAND);
    const se = await kubectl(SERVICE_ENTRY_COMMAND, seEnv);
    showResult(report, se);
    if (se.code === 0 && se.stdout.includes('serviceentry.networking.istio.io/mysql-external'))
      report.ok('ServiceEntry mysql-external created');
    else report.fail('"serviceentry.networking.istio.io/mysql-external created"', (se.stdout + se.stderr).trim());
    if (!(await between())) return result;

    // 10
    report.begin('Reviewing the ServiceEntry');
    const getLine = 'kubectl get serviceentry mysql-external -o yaml';
    report.command(getLine);
    const got = await kubectl(getLine);
    showResult(report, got);
    if (got.code === 0 && got.stdout.includes(`- ${layout.mysqlIp}/32`) && /location: MESH_EXTERNAL/.test(got.stdout))
      report.ok(`it holds ${layout.mysqlIp}/32, port 3306 tcp, MESH_EXTERNAL`);
    else report.fail(`the entry with ${layout.mysqlIp}/32 and MESH_EXTERNAL`, (got.stdout + got.stderr).trim());
    if (!(await between())) return result;

    // 11
    report.begin('The stars are back: ratings come from the external database');
    const allowed = await pollPage(pageUrl, (p) => showsOneStar(p, 'red'), 30_000);
    report.output(allowed.page ? describeReviews(allowed.page).join('\n') : '');
    if (allowed.page && showsOneStar(allowed.page, 'red'))
      report.ok('both reviews show one red star (rating 1, as set in the database) and four outline stars');
    else report.fail('one red filled star and four outline stars on both reviews', seenText(allowed));
    if (!(await between())) return result;

    // 12
    report.begin('Removing the ServiceEntry');
    const delLine = 'kubectl delete serviceentry mysql-external';
    report.command(delLine);
    const del = await kubectl(delLine);
    showResult(report, del);
    if (del.code === 0 && del.stdout.includes('deleted')) report.ok('ServiceEntry mysql-external deleted');
    else report.fail('"serviceentry.networking.istio.io "mysql-external" deleted"', (del.stdout + del.stderr).trim());
    if (!(await between())) return result;

    // 13
    report.begin('Blocked again');
    const again = await pollPage(pageUrl, showsRatingsUnavailable, 30_000);
    report.output(again.page ? describeReviews(again.page).join('\n') : '');
    if (again.page && showsRatingsUnavailable(again.page)) report.ok(`each review says "${RATINGS_UNAVAILABLE}" again`);
    else report.fail(`"${RATINGS_UNAVAILABLE}" under each review`, seenText(again));
    return result;
  } finally {
    client.close();
  }
}
