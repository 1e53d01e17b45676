/**
 * Real clients inside the mesh against the real servers this machine runs: the `mariadb` client to a
 * dedicated MariaDB in a test host, `psql` to PostgreSQL and `redis-cli` to Redis (both listen on the
 * host's loopback, so a forwarder exposes them at the bridge address). Each is refused under
 * REGISTRY_ONLY and works once a TCP ServiceEntry allows its address and port.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type ExternalMysql, startExternalMysql, startTcpForwarder, type TcpForwarder } from '@sluice/capture';
import { startTestMesh, type TestMesh } from './lib/mesh.js';

const SUBNET = '10.233.124.0/24';
const DB_IP = '10.233.124.250';
let m: TestMesh;
let mysql: ExternalMysql;
let dbDir: string;
const forwarders: TcpForwarder[] = [];
const password = randomBytes(12).toString('hex');
let nextIp = 20;

before(async () => {
  m = await startTestMesh({ name: 'e2erc', subnet: SUBNET });
  const host = await m.addTestHost('db', DB_IP);
  dbDir = mkdtempSync(path.join(os.tmpdir(), 'sluice-e2e-mysql-'));
  mysql = await startExternalMysql({ host, dataDir: dbDir });
  await mysql.query(
    `CREATE USER 'probe'@'%' IDENTIFIED BY '${password}'; CREATE DATABASE IF NOT EXISTS probe; GRANT SELECT ON probe.* TO 'probe'@'%';`,
  );
  forwarders.push(await startTcpForwarder({ listenHost: m.mesh.gateway, listenPort: 5432, target: '127.0.0.1:5432' }));
  forwarders.push(await startTcpForwarder({ listenHost: m.mesh.gateway, listenPort: 6379, target: '127.0.0.1:6379' }));
  await m.apply({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'MeshConfig',
    metadata: { name: 'mesh' },
    spec: { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } },
  });
});

after(async () => {
  for (const f of forwarders) await f.destroy().catch(() => {});
  await mysql?.stop().catch(() => {});
  await m?.close();
  if (dbDir) rmSync(dbDir, { recursive: true, force: true });
});

function serviceEntry(name: string, ip: string, port: number) {
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'ServiceEntry',
    metadata: { name, namespace: 'default' },
    spec: {
      hosts: [`${name}.example`],
      addresses: [`${ip}/32`],
      ports: [{ name: 'tcp', number: port, protocol: 'TCP' }],
      location: 'MESH_EXTERNAL',
      resolution: 'NONE',
    },
  };
}

async function blockedThenAllowed(
  name: string,
  ip: string,
  port: number,
  argv: string[],
  expectOutput: RegExp,
): Promise<void> {
  const blocked = await m.run(`${name}-a`, `10.233.124.${nextIp++}`, argv, {});
  assert.notEqual(blocked.exitCode, 0, `${name} must fail while blocked: ${blocked.stdout}`);
  assert.doesNotMatch(blocked.stdout, expectOutput);
  assert.match(
    blocked.sidecarLog,
    new RegExp(`"downstream_local_address":"${ip.replaceAll('.', '\\.')}:${port}"[^\\n]*"decision":"blackhole"`),
  );
  await m.apply(serviceEntry(name, ip, port));
  try {
    const allowed = await m.run(`${name}-b`, `10.233.124.${nextIp++}`, argv, {});
    assert.equal(allowed.exitCode, 0, `${name} must work once allowed: ${allowed.stderr}`);
    assert.match(allowed.stdout, expectOutput);
    assert.match(allowed.sidecarLog, new RegExp(`"upstream_cluster":"outbound\\|${port}\\|\\|${name}\\.example"`));
  } finally {
    await m.remove('ServiceEntry', name);
  }
}

test('mariadb client reaches the external MariaDB only through a ServiceEntry', async () => {
  await blockedThenAllowed(
    'mysqldb',
    DB_IP,
    3306,
    [
      'mariadb',
      '--no-defaults',
      '--connect-timeout=3',
      '-h',
      DB_IP,
      '-u',
      'probe',
      `-p${password}`,
      '-N',
      '-e',
      'SELECT 6*7',
    ],
    /^42$/m,
  );
});

test('psql reaches PostgreSQL only through a ServiceEntry', async () => {
  await blockedThenAllowed(
    'postgres',
    m.mesh.gateway,
    5432,
    ['psql', '-h', m.mesh.gateway, '-U', 'postgres', '-d', 'test', '-tAc', 'SELECT 40+2'],
    /^42$/m,
  );
});

test('redis-cli reaches Redis only through a ServiceEntry', async () => {
  await blockedThenAllowed(
    'redis',
    m.mesh.gateway,
    6379,
    ['redis-cli', '-h', m.mesh.gateway, '-p', '6379', 'PING'],
    /PONG/,
  );
});
