import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ensureCredentials, serverUrl, writeKubeconfig } from './credentials.js';

const dir = mkdtempSync(join(tmpdir(), 'slt-api-creds-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('first start makes a CA, a serving cert for the bind address, a private token; later starts reuse them', () => {
  const first = ensureCredentials(dir, '127.0.0.1');
  const ca = new X509Certificate(first.caCert);
  const cert = new X509Certificate(first.cert);
  assert.ok(ca.ca, 'the CA is a CA');
  assert.ok(cert.verify(ca.publicKey), 'the serving certificate is signed by the CA');
  assert.match(cert.subjectAltName ?? '', /DNS:localhost/);
  assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  assert.ok(first.token.length >= 32);
  for (const f of ['token', 'pki/ca.key', 'pki/apiserver.key']) assert.equal(statSync(join(dir, f)).mode & 0o077, 0, f);

  const again = ensureCredentials(dir, '127.0.0.1');
  assert.equal(again.cert, first.cert);
  assert.equal(again.token, first.token);

  const moved = ensureCredentials(dir, '10.233.77.1');
  assert.notEqual(moved.cert, first.cert, 'a new bind address gets a new serving cert');
  assert.equal(moved.caCert, first.caCert, 'from the same CA');
  assert.match(new X509Certificate(moved.cert).subjectAltName ?? '', /IP Address:10\.233\.77\.1/);
});

test('the kubeconfig trusts the CA, carries the token and names the context sluice', () => {
  const creds = ensureCredentials(dir, '127.0.0.1');
  const path = writeKubeconfig(dir, serverUrl('https', '0.0.0.0', 15080), creds);
  const text = readFileSync(path, 'utf8');
  assert.match(text, /server: https:\/\/127\.0\.0\.1:15080\n/);
  assert.ok(text.includes(`certificate-authority-data: ${Buffer.from(creds.caCert).toString('base64')}\n`));
  assert.ok(text.includes(`token: ${creds.token}\n`));
  assert.match(text, /current-context: sluice\n/);
  assert.equal(statSync(path).mode & 0o077, 0);
  assert.equal(serverUrl('https', '::1', 1), 'https://[::1]:1');
});
