/**
 * Istio's "Consuming External TCP Services", end to end on a test mesh: the article's commands
 * verbatim with real kubectl 1.20 (only `--kubeconfig` added), Bookinfo's real processes, a real
 * MariaDB outside the mesh, and what a reader of the article sees on the product page. Then the
 * whole `sluice demo --once` as a child process (the only test using the default mesh names).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot } from '@sluice/agent';
import { findBlockedConnections } from '../../packages/cli/src/demo/access-log.js';
import { demoLayout } from '../../packages/cli/src/demo/layout.js';
import { removeDemoLeftovers } from '../../packages/cli/src/demo/leftovers.js';
import { readSecretCredentials } from '../../packages/cli/src/demo/mysql-admin.js';
import {
  fetchProductPage,
  type ProductPageView,
  RATINGS_UNAVAILABLE,
  showsOneStar,
  showsRatingsUnavailable,
} from '../../packages/cli/src/demo/product-page.js';
import { SERVICE_ENTRY_COMMAND, STEP_COUNT } from '../../packages/cli/src/demo/scenario.js';
import {
  ALL_BOOKINFO_DEPLOYMENTS,
  type BookinfoMesh,
  mustKubectl,
  podsReady,
  registryOnly,
  startBookinfoMesh,
} from './lib/bookinfo.js';
import { eventually } from './lib/mesh.js';

let m: BookinfoMesh;
let env: Record<string, string>;

before(async () => {
  m = await startBookinfoMesh({ meshName: 'e2ebi1', subnet: '10.233.130.0/24' });
  // The article's step 1 (and "For a local database, set MYSQL_DB_IP to the IP of your machine").
  env = { MYSQL_DB_HOST: 'mysqldb.example', MYSQL_DB_IP: m.mysqlIp, MYSQL_DB_PORT: '3306' };
});

after(async () => {
  await m?.close();
});

/** The page, polled until `good` holds (at most `ms`); the last view either way. */
async function pageWhen(good: (p: ProductPageView) => boolean, ms: number): Promise<ProductPageView | undefined> {
  let last: ProductPageView | undefined;
  await eventually(
    async () => {
      last = await fetchProductPage(m.pageUrl).catch(() => undefined);
      return last !== undefined && good(last);
    },
    ms,
    500,
  );
  return last;
}

/** The `mysql` client as the article runs it, from the machine to the external address (password via MYSQL_PWD). */
function mysqlClient(user: string, sql: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', `mysql -u ${user} --host $MYSQL_DB_IP --port $MYSQL_DB_PORT -e "${sql}"`],
      { env: { PATH: '/usr/bin:/bin', MYSQL_PWD: m.creds.password, ...env }, timeout: 20_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) || 1 : 0, stdout, stderr }),
    );
  });
}

test('the ratings database: both ratings set to 1, and user bookinfo may SELECT but not UPDATE', async () => {
  assert.equal(m.creds.user, 'bookinfo');
  const sel = await mysqlClient('bookinfo', 'select * from test.ratings;');
  assert.equal(sel.code, 0, sel.stderr);
  assert.equal(sel.stdout, 'ReviewID\tRating\n1\t1\n2\t1\n');
  const upd = await mysqlClient('bookinfo', 'update test.ratings set rating=1; select * from test.ratings;');
  assert.notEqual(upd.code, 0);
  assert.match(upd.stderr, /UPDATE command denied to user 'bookinfo'/);
});

test('the article, step by step: blocked, allowed by a TCP ServiceEntry, blocked again', async (t) => {
  await t.test('deploy Bookinfo with ratings v2-mysql under blocking-by-default', async () => {
    await registryOnly(m);
    const bi = await mustKubectl(m.kubectl, 'kubectl apply -f samples/bookinfo/platform/kube/bookinfo.yaml');
    assert.match(bi.stdout, /^deployment\.apps\/productpage-v1 created$/m);
    await mustKubectl(m.kubectl, 'kubectl apply -f samples/bookinfo/networking/destination-rule-all.yaml');
    await mustKubectl(m.kubectl, `kubectl apply -f ${m.secretFile}`);
    const dep = await mustKubectl(
      m.kubectl,
      'kubectl apply -f samples/bookinfo/platform/kube/bookinfo-ratings-v2-mysql.yaml',
    );
    assert.equal(dep.stdout, 'deployment.apps/ratings-v2-mysql created\n');
    const vs = await mustKubectl(
      m.kubectl,
      'kubectl apply -f samples/bookinfo/networking/virtual-service-ratings-mysql.yaml',
    );
    assert.equal(
      vs.stdout,
      'virtualservice.networking.istio.io/reviews created\nvirtualservice.networking.istio.io/ratings created\n',
    );
    await podsReady(m, ALL_BOOKINFO_DEPLOYMENTS);
  });

  await t.test(
    'the page: details and reviews, and "Ratings service is currently unavailable" instead of stars',
    async () => {
      const page = await pageWhen(showsRatingsUnavailable, 60_000);
      assert.ok(page, 'the product page answers');
      assert.equal(page.status, 200);
      assert.equal(page.title, 'Simple Bookstore App');
      assert.ok(page.hasBookDetails, 'book details are shown');
      assert.deepEqual(
        page.reviews.map((r) => [r.reviewer, r.error, r.filledStars, r.outlineStars]),
        [
          ['Reviewer1', RATINGS_UNAVAILABLE, 0, 0],
          ['Reviewer2', RATINGS_UNAVAILABLE, 0, 0],
        ],
      );
      assert.doesNotMatch(page.html, /glyphicon glyphicon-star/);
    },
  );

  await t.test('the ratings-v2-mysql sidecar logged the blocked MySQL connection', async () => {
    const dest = `${m.mysqlIp}:3306`;
    // Each page view makes reviews call ratings, and ratings try MySQL: keep viewing until the
    // sidecar has logged the attempt (the first views may have come before ratings-v2-mysql was routed).
    assert.ok(
      await eventually(
        async () => {
          if (findBlockedConnections(m.rt.podLogDir, 'ratings-v2-mysql-', dest).length > 0) return true;
          await fetchProductPage(m.pageUrl).catch(() => undefined);
          return false;
        },
        30_000,
        250,
      ),
      `no blocked connection to ${dest} in the ratings-v2-mysql sidecar log`,
    );
    const line = findBlockedConnections(m.rt.podLogDir, 'ratings-v2-mysql-', dest)[0];
    assert.ok(line);
    const entry = JSON.parse(line.line) as Record<string, unknown>;
    assert.equal(entry.source_workload, 'ratings-v2-mysql');
    assert.equal(entry.downstream_local_address, dest);
    assert.equal(entry.upstream_cluster, 'BlackHoleCluster');
    assert.equal(entry.response_flags, 'UH');
    assert.equal(entry.bytes_sent, 0);
  });

  await t.test('kubectl apply the TCP ServiceEntry: one red star and four outline stars on both reviews', async () => {
    const se = await mustKubectl(m.kubectl, SERVICE_ENTRY_COMMAND, env);
    assert.equal(se.stdout, 'serviceentry.networking.istio.io/mysql-external created\n');
    const got = await mustKubectl(m.kubectl, 'kubectl get serviceentry mysql-external -o yaml');
    assert.match(got.stdout, /^kind: ServiceEntry$/m);
    assert.match(got.stdout, new RegExp(`addresses:\\n  - ${m.mysqlIp.replaceAll('.', '\\.')}/32\\n`));
    assert.match(got.stdout, /hosts:\n {2}- mysqldb\.example\n/);
    assert.match(got.stdout, /- name: tcp\n {4}number: 3306\n {4}protocol: tcp\n/);
    assert.match(got.stdout, /location: MESH_EXTERNAL/);
    const page = await pageWhen((p) => showsOneStar(p, 'red'), 30_000);
    assert.ok(page);
    assert.deepEqual(
      page.reviews.map((r) => [r.reviewer, r.filledStars, r.color, r.outlineStars, r.error]),
      [
        ['Reviewer1', 1, 'red', 4, ''],
        ['Reviewer2', 1, 'red', 4, ''],
      ],
    );
  });

  await t.test('kubectl delete serviceentry mysql-external: unavailable again', async () => {
    const del = await mustKubectl(m.kubectl, 'kubectl delete serviceentry mysql-external -n default');
    assert.equal(del.stdout, 'serviceentry.networking.istio.io "mysql-external" deleted\n');
    const page = await pageWhen(showsRatingsUnavailable, 30_000);
    assert.ok(page && showsRatingsUnavailable(page), `saw ${JSON.stringify(page?.reviews)}`);
  });
});

test('sluice demo --once runs every step of the walkthrough and exits 0', async (t) => {
  const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'sluice-e2e-demo-')), 'demo');
  t.after(async () => {
    await removeDemoLeftovers(demoLayout({ dataDir }));
  });
  const child = spawn(
    path.join(repoRoot, 'bin', 'sluice'),
    ['demo', '--once', '--port', '0', '--api-port', '0', '--xds-port', '0', '--data-dir', dataDir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  // Read the generated password while the demo runs (its data dir is removed at the end).
  let password = '';
  const watch = setInterval(() => {
    try {
      password ||= readSecretCredentials(path.join(dataDir, 'mysql-credentials.yaml')).password;
    } catch {
      // not written yet
    }
  }, 200);
  const timer = setTimeout(() => child.kill('SIGINT'), 240_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  clearInterval(watch);
  assert.equal(code, 0, out);
  for (let n = 1; n <= STEP_COUNT; n++) assert.match(out, new RegExp(`^\\[${n}/${STEP_COUNT}\\] `, 'm'));
  assert.equal(out.match(/^ {4}✔ /gm)?.length, STEP_COUNT);
  assert.doesNotMatch(out, /FAILED/);
  assert.match(out, /Ratings service is currently unavailable/);
  assert.match(out, /both reviews show one red star/);
  assert.match(out, /\$ kubectl get serviceentry mysql-external -o yaml/);
  assert.match(out, new RegExp(`Demo result: ${STEP_COUNT}/${STEP_COUNT} steps showed what they should\\.`));
  assert.ok(password.length >= 16, 'the demo generated a password for the ratings user');
  assert.ok(!out.includes(password), 'the MySQL password is never printed');
});
