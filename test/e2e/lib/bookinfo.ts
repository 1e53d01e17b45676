/**
 * Bookinfo on a test mesh, built from the demo's own pieces (packages/cli/src/demo): the runtime
 * (control plane, node agent, external MariaDB, port forward) in this process, real kubectl run
 * from a work dir laid out like an Istio release (`samples/bookinfo/...`, with the article's edit of
 * bookinfo-ratings-v2-mysql.yaml), and the ratings database prepared by prepare-mysql.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '@sluice/agent';
import { type KubectlResult, type KubectlRunner, kubectlRunner } from '../../../packages/cli/src/demo/kubectl.js';
import { prepareMysql, readSecretCredentials } from '../../../packages/cli/src/demo/mysql-admin.js';
import { podTable, waitForPodsReady } from '../../../packages/cli/src/demo/pods.js';
import { type DemoRuntime, startDemoRuntime } from '../../../packages/cli/src/demo/runtime.js';
import { patchRatingsV2Mysql, REGISTRY_ONLY_COMMAND } from '../../../packages/cli/src/demo/scenario.js';

export interface BookinfoMesh {
  rt: DemoRuntime;
  /** Runs a command line starting with `kubectl` (only `--kubeconfig` is added) in the work dir. */
  kubectl: KubectlRunner;
  /** The work dir: `samples/bookinfo/...` as in an Istio release, plus the Secret file. */
  workDir: string;
  mysqlIp: string;
  /** Path (relative to the work dir) of the Secret manifest prepare-mysql wrote. */
  secretFile: string;
  /** The ratings user's credentials (never printed). */
  creds: { user: string; password: string };
  pageUrl: string;
  close(): Promise<void>;
}

/** Runs `line` and fails with kubectl's own output when it exits non-zero. */
export async function mustKubectl(
  k: KubectlRunner,
  line: string,
  env?: Record<string, string>,
): Promise<KubectlResult> {
  const r = await k(line, env);
  if (r.code !== 0) throw new Error(`${line}\nexit ${r.code}\n${r.stdout}${r.stderr}`);
  return r;
}

export async function startBookinfoMesh(o: { meshName: string; subnet: string }): Promise<BookinfoMesh> {
  const base = mkdtempSync(path.join(os.tmpdir(), `sluice-e2e-${o.meshName}-`));
  chmodSync(base, 0o755); // mariadbd (user mysql) must traverse it
  const mysqlIp = o.subnet.replace(/\.\d+\/\d+$/, '.250');
  let rt: DemoRuntime | undefined;
  const close = async () => {
    await rt?.close().catch(() => {});
    rmSync(base, { recursive: true, force: true });
  };
  try {
    rt = await startDemoRuntime({
      dataDir: path.join(base, 'data'),
      mysqlDir: path.join(base, 'mysql'),
      meshName: o.meshName,
      subnet: o.subnet,
      mysqlIp,
      apiPort: 0,
      xdsPort: 0,
      pagePort: 0,
    });
    const workDir = path.join(base, 'work');
    const kube = path.join(workDir, 'samples', 'bookinfo', 'platform', 'kube');
    mkdirSync(kube, { recursive: true });
    const samples = path.join(repoRoot, 'samples', 'bookinfo');
    symlinkSync(path.join(samples, 'networking'), path.join(workDir, 'samples', 'bookinfo', 'networking'));
    symlinkSync(path.join(samples, 'platform', 'kube', 'bookinfo.yaml'), path.join(kube, 'bookinfo.yaml'));
    // The article: "Edit the following lines" of bookinfo-ratings-v2-mysql.yaml (the database host).
    writeFileSync(
      path.join(kube, 'bookinfo-ratings-v2-mysql.yaml'),
      patchRatingsV2Mysql(
        readFileSync(path.join(samples, 'platform', 'kube', 'bookinfo-ratings-v2-mysql.yaml'), 'utf8'),
        mysqlIp,
      ),
    );
    const secretFile = 'mysql-credentials.yaml';
    const prep = await prepareMysql(rt.mysql.socketPath, path.join(workDir, secretFile));
    if (prep.code !== 0) throw new Error(`prepare-mysql failed: ${prep.stderr}`);
    const creds = readSecretCredentials(path.join(workDir, secretFile));
    const kubectl = kubectlRunner({ kubeconfig: rt.kubeconfigPath, homeDir: path.join(base, 'home'), cwd: workDir });
    return {
      rt,
      kubectl,
      workDir,
      mysqlIp,
      secretFile,
      creds,
      pageUrl: `${rt.pageBaseUrl}/productpage`,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Blocking egress by default, as the article's cluster has it (Istio: outboundTrafficPolicy REGISTRY_ONLY). */
export async function registryOnly(m: BookinfoMesh): Promise<void> {
  await mustKubectl(m.kubectl, REGISTRY_ONLY_COMMAND);
}

/** Waits until every named Deployment has a ready pod; throws with the pod table otherwise. */
export async function podsReady(m: BookinfoMesh, deployments: string[], timeoutMs = 90_000): Promise<void> {
  const missing = await waitForPodsReady(m.rt.client, deployments, timeoutMs);
  if (missing.length) {
    throw new Error(
      `not ready after ${timeoutMs} ms: ${missing.join(', ')}\n${(await podTable(m.rt.client)).join('\n')}`,
    );
  }
}

export const ALL_BOOKINFO_DEPLOYMENTS = [
  'details-v1',
  'ratings-v1',
  'reviews-v1',
  'reviews-v2',
  'reviews-v3',
  'productpage-v1',
  'ratings-v2-mysql',
];
