import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cleanup } from '../hosts/cleanup.js';
import { createMeshNetwork, destroyMeshNetwork, type MeshNetwork } from '../hosts/mesh-network.js';
import { runProgram } from '../hosts/netns-test-kit.js';
import { createTestHost, type TestHost } from '../hosts/test-host.js';
import { createWorkloadHost, type WorkloadHost } from '../hosts/workload-host.js';
import { type ExternalMysql, startExternalMysql } from './external-mysql.js';

// Real MariaDB in a real namespace: needs root and Debian mariadb-server.
const prefixes = { netnsPrefix: 'slt-cap-m-', vethPrefix: 'sltcm' };

describe('a MariaDB outside the mesh, in a test host', () => {
  let mesh: MeshNetwork;
  let db: TestHost;
  let app: WorkloadHost;
  let mysql: ExternalMysql | undefined;
  let dataDir = '';

  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'slt-cap-mysql-'));
    mesh = await createMeshNetwork({ name: 'capm', subnet: '10.233.101.0/24', bridge: 'sltcapm0', ...prefixes });
    db = await createTestHost({ mesh, name: 'db', ip: '10.233.101.200' });
    app = await createWorkloadHost({ mesh, name: 'app', ip: '10.233.101.10', inboundPorts: [] });
    mysql = await startExternalMysql({ host: db, dataDir });
  });

  after(async () => {
    await mysql?.stop();
    await Promise.allSettled([app?.destroy(), db?.destroy()]);
    if (mesh) await destroyMeshNetwork(mesh);
    await cleanup({ ...prefixes, bridgePrefix: 'sltcapm0' });
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('is administered over its unix socket and reachable on the test host address from uid 1337 in a workload', async () => {
    assert.ok(mysql);
    assert.equal(mysql.host, '10.233.101.200');
    await mysql.query(
      "CREATE DATABASE IF NOT EXISTS test; CREATE TABLE IF NOT EXISTS test.ratings (id INT PRIMARY KEY, stars INT); REPLACE INTO test.ratings VALUES (1, 5); CREATE USER IF NOT EXISTS 'reader'@'%' IDENTIFIED BY 'pw'; GRANT SELECT ON test.ratings TO 'reader'@'%';",
    );
    const client = [
      'mariadb',
      '--no-defaults',
      '-h',
      mysql.host,
      '-P',
      String(mysql.port),
      '-ureader',
      '-ppw',
      '--batch',
      '-e',
    ];
    const read = await runProgram(app, [...client, 'SELECT stars FROM test.ratings WHERE id = 1'], 1337);
    assert.equal(read.code, 0, read.output);
    assert.equal(read.output.trim(), 'stars\n5');
    const write = await runProgram(app, [...client, 'UPDATE test.ratings SET stars = 1'], 1337);
    assert.match(write.output, /ERROR 1142 .*UPDATE command denied to user 'reader'@'10\.233\.101\.10'/);
  });

  test('the same connection from the workload uid is captured and never reaches the server', async () => {
    assert.ok(mysql);
    const before = await mysql.query("SHOW GLOBAL STATUS LIKE 'Connections'");
    const r = await runProgram(
      app,
      ['mariadb', '--no-defaults', '--connect-timeout=2', '-h', mysql.host, '-ureader', '-ppw', '-e', 'SELECT 1'],
      1000,
    );
    assert.notEqual(r.code, 0);
    const afterCount = await mysql.query("SHOW GLOBAL STATUS LIKE 'Connections'");
    // each admin query over the socket counts one connection; the workload's attempt adds none
    assert.equal(Number(afterCount.split(/\s+/).at(-2)), Number(before.split(/\s+/).at(-2)) + 1);
  });

  test('stop() ends the server and can be called twice', async () => {
    assert.ok(mysql);
    await Promise.all([mysql.stop(), mysql.stop()]);
    const r = await runProgram(
      app,
      ['mariadb', '--no-defaults', '--connect-timeout=2', '-h', mysql.host, '-e', 'SELECT 1'],
      1337,
    );
    assert.match(r.output, /Can't connect/);
  });
});
