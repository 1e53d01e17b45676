/**
 * The API token stays secret: `sluice up` runs as a child process with debug logging, takes a burst
 * of API calls — successful ones and every kind of failing one, including near-miss tokens — and
 * then neither its stdout/stderr, nor any answer it gave, nor any process's command line
 * (/proc/<pid>/cmdline) may contain the token; its files holding secrets are private (0600).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiClient, type ApiReply } from './lib/api-client.js';
import { type ControlPlaneProcess, SLUICE_BIN, startControlPlaneProcess } from './lib/control-plane-process.js';
import { recordScenario } from './lib/summary.js';
import { makeTempDir, type TempDir } from './lib/temp-dir.js';

const SE_PATH = '/apis/networking.istio.io/v1beta1/namespaces/default/serviceentries';

let dir: TempDir;
let cp: ControlPlaneProcess;
let client: ApiClient;

before(async () => {
  dir = makeTempDir('secrets');
  cp = await startControlPlaneProcess(join(dir.path, 'data'), { logLevel: 'debug' });
  client = ApiClient.fromKubeconfig(cp.kubeconfigPath);
});

after(async () => {
  client?.close();
  await cp?.stop();
  dir?.remove();
});

const se = (name: string, spec: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'ServiceEntry',
    metadata: { name },
    spec: {
      hosts: [`${name}.example.com`],
      addresses: ['10.233.92.10/32'],
      ports: [{ name: 'tcp', number: 3306, protocol: 'TCP' }],
      location: 'MESH_EXTERNAL',
      resolution: 'NONE',
      ...spec,
    },
  });

/** Every command line of every process on the machine that contains `needle`. */
function commandLinesWith(needle: string): string[] {
  const hits: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // the process ended while we looked
    }
    if (cmdline.includes(needle)) hits.push(`${pid}: ${cmdline.replaceAll('\0', ' ').slice(0, 200)}`);
  }
  return hits;
}

function sluice(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(SLUICE_BIN, args, { env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

test('the API token appears in no log line, no answer, no command line, and only in private files', async () => {
  const token = client.creds.token;
  assert.ok(token.length >= 32, 'the token is long enough to be a secret');
  const answers: ApiReply[] = [];
  let unanswered = 0;
  const call = async (method: string, path: string, opts: Parameters<ApiClient['request']>[2] = {}) => {
    try {
      answers.push(await client.request(method, path, opts));
    } catch {
      unanswered++;
    }
  };
  const cmdlineHits: string[] = [];
  // A burst of calls, successful and failing, with the process list read while they run.
  const burst = async () => {
    for (let i = 0; i < 10; i++) {
      await call('POST', SE_PATH, { body: se(`secret-${i}`) });
      await call('GET', `${SE_PATH}/secret-${i}`);
      await call('PUT', `${SE_PATH}/secret-${i}`, {
        body: se(`secret-${i}`).replace('"metadata":{', '"metadata":{"resourceVersion":"1",'),
      });
      await call('GET', `${SE_PATH}/missing-${i}`);
      await call('POST', SE_PATH, { body: se(`bad-${i}`, { hosts: [] }) });
      await call('POST', SE_PATH, { body: '{"kind": ' });
      await call('POST', SE_PATH, { body: se(`dup-${i % 2}`) });
      await call('GET', SE_PATH, { token: null });
      await call('GET', SE_PATH, { token: `${token}x` });
      await call('GET', SE_PATH, { token: token.slice(0, -1) });
      await call('GET', SE_PATH, { token: token.toUpperCase() });
      await call('DELETE', `${SE_PATH}/secret-${i}`, { token: 'wrong' });
      await call('GET', '/debug/config_dump?proxyID=nobody');
      await call('PATCH', `${SE_PATH}/secret-${i}`, { body: '{"spec":', contentType: 'application/merge-patch+json' });
    }
  };
  const watcher = (async () => {
    for (let i = 0; i < 20; i++) {
      cmdlineHits.push(...commandLinesWith(token));
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  await Promise.all([burst(), watcher]);
  const failed = answers.filter((a) => a.status >= 400).length;
  assert.ok(failed >= 100, `the burst includes failing calls (${failed} of ${answers.length})`);
  assert.ok(
    answers.some((a) => a.status === 401),
    'calls with wrong tokens were refused',
  );

  // The CLI's own failures (bad manifest, unknown kind) print no token either.
  const badFile = join(dir.path, 'bad.yaml');
  writeFileSync(
    badFile,
    'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: x}\nspec: {hosts: []}\n',
  );
  const cli = [
    await sluice(['apply', '--kubeconfig', cp.kubeconfigPath, '-f', badFile]),
    await sluice(['get', 'nosuchkind', '--kubeconfig', cp.kubeconfigPath]),
  ];
  for (const r of cli) assert.notEqual(r.code, 0, `the CLI call failed as it should: ${r.out}`);

  await cp.stop();
  const logs = `${cp.stdout()}\n${cp.stderr()}`;
  const logHits = logs.split('\n').filter((line) => line.includes(token));
  const answerHits = answers.filter((a) => a.text.includes(token)).map((a) => `${a.status} ${a.text.slice(0, 120)}`);
  const cliHits = cli.filter((r) => r.out.includes(token)).map((r) => r.out.slice(0, 120));
  cmdlineHits.push(...commandLinesWith(token));
  const modes = ['token', 'kubeconfig', 'pki/ca.key', 'pki/apiserver.key'].map((f) => {
    const mode = statSync(join(dir.path, 'data', f)).mode & 0o777;
    return `${f} ${mode.toString(8)}`;
  });
  recordScenario({
    scenario: '8 secrets: API token (sluice up)',
    load: `${answers.length + unanswered} API calls, 2 CLI calls, /proc scanned 21 times`,
    faults: `${failed} failing calls, near-miss tokens`,
    requests: answers.length + unanswered + cli.length,
    bytes: Buffer.byteLength(logs) + answers.reduce((n, a) => n + a.text.length, 0),
    leaks: logHits.length + answerHits.length + cliHits.length + cmdlineHits.length,
    losses: unanswered,
  });
  assert.ok(logs.includes('"msg":"request"'), 'debug logging was on: every request was logged');
  assert.deepEqual(logHits, [], 'log lines with the token');
  assert.deepEqual(answerHits, [], 'answers with the token');
  assert.deepEqual(cliHits, [], 'CLI output with the token');
  assert.deepEqual(cmdlineHits, [], 'command lines with the token');
  assert.equal(unanswered, 0, 'every call got an answer');
  assert.deepEqual(modes, ['token 600', 'kubeconfig 600', 'pki/ca.key 600', 'pki/apiserver.key 600']);
});
