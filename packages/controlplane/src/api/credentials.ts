/**
 * The API server's credentials, kept in the data dir: a CA and a serving certificate (made with
 * the `openssl` CLI on first start), a random bearer token, and a kubeconfig that trusts the CA.
 * Secrets are written with mode 0600. The token is never logged.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';

export class CredentialsError extends Error {
  readonly code = 'CredentialsError';
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsError';
  }
}

export interface ServingCredentials {
  caCert: string;
  cert: string;
  key: string;
  token: string;
}

export const FILES = {
  caCert: 'pki/ca.crt',
  caKey: 'pki/ca.key',
  cert: 'pki/apiserver.crt',
  key: 'pki/apiserver.key',
  token: 'token',
  kubeconfig: 'kubeconfig',
} as const;

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new CredentialsError(`openssl ${args[0]} failed: ${stderr.trim() || (err as Error).message}`);
  }
}

/** The names and addresses the serving certificate must cover for a bind address. */
export function subjectAltNames(bindAddress: string): string[] {
  const ips = new Set(['127.0.0.1', '::1']);
  const dns = new Set(['localhost']);
  if (bindAddress === '0.0.0.0' || bindAddress === '::') {
    for (const addrs of Object.values(networkInterfaces()))
      for (const a of addrs ?? []) ips.add(a.address.split('%')[0]!);
  } else if (isIP(bindAddress)) ips.add(bindAddress);
  else dns.add(bindAddress);
  return [...[...dns].map((d) => `DNS:${d}`), ...[...ips].map((ip) => `IP:${ip}`)];
}

function certCovers(certPem: string, sans: string[]): boolean {
  const present = new Set(
    (new X509Certificate(certPem).subjectAltName ?? '')
      .split(',')
      .map((s) => s.trim().replace(/^IP Address:/, 'IP:'))
      .map((s) => (s.startsWith('IP:') ? `IP:${normalizeIp(s.slice(3))}` : s)),
  );
  return sans.every((s) => present.has(s.startsWith('IP:') ? `IP:${normalizeIp(s.slice(3))}` : s));
}

function normalizeIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  // Expand to a canonical compressed form by round-tripping through URL parsing.
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

function makeCa(pki: string): void {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '3650',
      '-subj',
      '/CN=sluice-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    pki,
  );
}

function makeServingCert(pki: string, sans: string[]): void {
  writeFileSync(
    join(pki, 'apiserver.ext'),
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans.join(',')}\n`,
  );
  openssl(
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'apiserver.key',
      '-out',
      'apiserver.csr',
      '-subj',
      '/CN=sluice-apiserver',
    ],
    pki,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'apiserver.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'apiserver.crt',
      '-days',
      '825',
      '-extfile',
      'apiserver.ext',
    ],
    pki,
  );
  rmSync(join(pki, 'apiserver.csr'), { force: true });
}

/**
 * Loads the credentials in `dataDir`, creating what is missing. The serving certificate is made
 * again (same CA) when it does not cover `bindAddress`.
 */
export function ensureCredentials(dataDir: string, bindAddress: string): ServingCredentials {
  const pki = join(dataDir, 'pki');
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  const path = (f: string) => join(dataDir, f);
  if (!existsSync(path(FILES.caCert)) || !existsSync(path(FILES.caKey))) {
    makeCa(pki);
    rmSync(path(FILES.cert), { force: true });
  }
  const sans = subjectAltNames(bindAddress);
  if (
    !existsSync(path(FILES.cert)) ||
    !existsSync(path(FILES.key)) ||
    !certCovers(readFileSync(path(FILES.cert), 'utf8'), sans)
  )
    makeServingCert(pki, sans);
  if (!existsSync(path(FILES.token)))
    writeFileSync(path(FILES.token), `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  const token = readFileSync(path(FILES.token), 'utf8').trim();
  if (token.length < 16) throw new CredentialsError(`${path(FILES.token)}: the token is shorter than 16 characters`);
  return {
    caCert: readFileSync(path(FILES.caCert), 'utf8'),
    cert: readFileSync(path(FILES.cert), 'utf8'),
    key: readFileSync(path(FILES.key), 'utf8'),
    token,
  };
}

/** `https://127.0.0.1:15080`, with IPv6 in brackets and a wildcard bind mapped to loopback. */
export function serverUrl(scheme: 'https' | 'http', host: string, port: number): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `${scheme}://${isIP(h) === 6 ? `[${h}]` : h}:${port}`;
}

/** Writes `<dataDir>/kubeconfig` (context `sluice`) and returns its path. */
export function writeKubeconfig(dataDir: string, server: string, creds?: { caCert: string; token: string }): string {
  const cluster = creds
    ? `    certificate-authority-data: ${Buffer.from(creds.caCert).toString('base64')}\n    server: ${server}\n`
    : `    server: ${server}\n`;
  const user = creds ? `    token: ${creds.token}\n` : '    {}\n';
  const text =
    'apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n' +
    cluster +
    '  name: sluice\ncontexts:\n- context:\n    cluster: sluice\n    namespace: default\n    user: sluice\n  name: sluice\n' +
    'current-context: sluice\npreferences: {}\nusers:\n- name: sluice\n  user:\n' +
    user;
  const file = join(dataDir, FILES.kubeconfig);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}
