import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { cleanup } from '../hosts/cleanup.js';
import { createMeshNetwork, destroyMeshNetwork, type MeshNetwork } from '../hosts/mesh-network.js';
import { runProgram } from '../hosts/netns-test-kit.js';
import { createWorkloadHost, type WorkloadHost } from '../hosts/workload-host.js';
import { startTcpForwarder, type TcpForwarder } from './tcp-forwarder.js';

// The machine's own Redis (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432), reached from a namespace.
const prefixes = { netnsPrefix: 'slt-cap-f-', vethPrefix: 'sltcf' };

describe('TCP forwarder on the bridge address for loopback-only servers', () => {
  let mesh: MeshNetwork;
  let app: WorkloadHost;
  const forwarders: TcpForwarder[] = [];

  before(async () => {
    mesh = await createMeshNetwork({ name: 'capf', subnet: '10.233.102.0/24', bridge: 'sltcapf0', ...prefixes });
    app = await createWorkloadHost({ mesh, name: 'app', ip: '10.233.102.10', inboundPorts: [] });
  });

  after(async () => {
    await Promise.allSettled(forwarders.map((f) => f.destroy()));
    await app?.destroy();
    if (mesh) await destroyMeshNetwork(mesh);
    await cleanup({ ...prefixes, bridgePrefix: 'sltcapf0' });
  });

  test('Redis and PostgreSQL on the host loopback answer a client in a workload namespace (sidecar uid)', async () => {
    const redis = await startTcpForwarder({ listenHost: mesh.gateway, listenPort: 0, target: '127.0.0.1:6379' });
    forwarders.push(redis);
    const ping = await runProgram(app, ['redis-cli', '-h', mesh.gateway, '-p', String(redis.port), 'PING'], 1337);
    assert.equal(ping.output.trim(), 'PONG');
    const pg = await startTcpForwarder({ listenHost: mesh.gateway, listenPort: 0, target: '127.0.0.1:5432' });
    forwarders.push(pg);
    const psql = await runProgram(
      app,
      [
        'psql',
        '-h',
        mesh.gateway,
        '-p',
        String(pg.port),
        '-U',
        'slt_cap_nobody',
        '-d',
        'postgres',
        '-w',
        '-c',
        'select 1',
      ],
      1337,
    );
    // the server itself answers (it knows no such role or wants a password): the bytes went through
    assert.match(psql.output, /FATAL|password authentication failed|no password supplied/);
  });

  test('the workload uid is captured instead of reaching the forwarder', async () => {
    const redis = await startTcpForwarder({ listenHost: mesh.gateway, listenPort: 0, target: '127.0.0.1:6379' });
    forwarders.push(redis);
    const r = await runProgram(app, ['redis-cli', '-h', mesh.gateway, '-p', String(redis.port), 'PING'], 1000);
    assert.notEqual(r.output.trim(), 'PONG');
    assert.equal(redis.connections, 0);
  });

  test('bad targets are refused with the field named; close() is idempotent', async () => {
    await assert.rejects(startTcpForwarder({ listenHost: mesh.gateway, listenPort: 0, target: 'localhost:5432' }), {
      code: 'ERR_CAPTURE_OPTIONS',
      path: 'target',
    });
    const f = await startTcpForwarder({ listenHost: mesh.gateway, listenPort: 0, target: '127.0.0.1:6379' });
    await Promise.all([f.close(), f.close(), f.destroy()]);
  });
});
