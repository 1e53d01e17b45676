import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ApiError, parseKubeconfig, resourcePath } from './kube-client.js';

const twoContexts = `apiVersion: v1
kind: Config
current-context: second
clusters:
- name: one
  cluster: {server: "https://127.0.0.1:1111", insecure-skip-tls-verify: true}
- name: two
  cluster:
    server: https://127.0.0.1:2222
    certificate-authority-data: ${Buffer.from('PEM TEXT').toString('base64')}
users:
- name: u1
  user: {token: first-token}
- name: u2
  user: {token: second-token}
contexts:
- name: first
  context: {cluster: one, user: u1}
- name: second
  context: {cluster: two, user: u2, namespace: shop}
`;

test('the current context picks its cluster, user and namespace', () => {
  const c = parseKubeconfig(twoContexts, 'kc');
  assert.equal(c.server, 'https://127.0.0.1:2222');
  assert.equal(c.token, 'second-token');
  assert.equal(c.ca?.toString(), 'PEM TEXT');
  assert.equal(c.insecureSkipTlsVerify, false);
  assert.equal(c.namespace, 'shop');
});

test('without current-context the first context is used; a CA file is read', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-kc-'));
  try {
    const caFile = path.join(dir, 'ca.crt');
    writeFileSync(caFile, 'CA FROM FILE');
    const text = twoContexts
      .replace('current-context: second\n', '')
      .replace('insecure-skip-tls-verify: true}', `certificate-authority: ${caFile}}`);
    const c = parseKubeconfig(text, 'kc');
    assert.equal(c.server, 'https://127.0.0.1:1111');
    assert.equal(c.token, 'first-token');
    assert.equal(c.ca?.toString(), 'CA FROM FILE');
    assert.equal(c.namespace, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a kubeconfig that is not YAML, or names no server, is a clear error naming the file', () => {
  assert.throws(
    () => parseKubeconfig('clusters: [', '/x/kubeconfig'),
    (e: unknown) =>
      e instanceof ApiError && e.reason === 'BadKubeconfig' && /^\/x\/kubeconfig: not YAML/.test(e.message),
  );
  assert.throws(
    () => parseKubeconfig('clusters:\n- name: a\n  cluster: {}\n', '/x/kubeconfig'),
    (e: unknown) => e instanceof ApiError && e.message === '/x/kubeconfig: no cluster server found',
  );
});

test('REST paths follow Kubernetes conventions for Istio and core kinds', () => {
  assert.equal(
    resourcePath('ServiceEntry', 'default', 'mysql-external'),
    '/apis/networking.istio.io/v1beta1/namespaces/default/serviceentries/mysql-external',
  );
  assert.equal(resourcePath('ServiceEntry'), '/apis/networking.istio.io/v1beta1/serviceentries');
  assert.equal(resourcePath('Pod', 'default'), '/api/v1/namespaces/default/pods');
});
