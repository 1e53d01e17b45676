import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, test } from 'node:test';
import { cleanup } from './cleanup.js';
import { createMeshNetwork } from './mesh-network.js';
import { startProgram } from './netns-test-kit.js';
import { createTestHost } from './test-host.js';
import { createWorkloadHost } from './workload-host.js';

// Simulates a crashed run: hosts never destroyed, a process still running in one of them.
const prefixes = { netnsPrefix: 'slt-cap-c-', bridgePrefix: 'sltcapc', vethPrefix: 'sltcc' };

after(() => cleanup(prefixes));

test('cleanup() finds leftovers by prefix, kills what runs in them and removes them all', async () => {
  const mesh = await createMeshNetwork({ name: 'capc', subnet: '10.233.103.0/24', bridge: 'sltcapc0', ...prefixes });
  const w = await createWorkloadHost({ mesh, name: 'w', ip: '10.233.103.10', inboundPorts: [80] });
  const t = await createTestHost({ mesh, name: 't', ip: '10.233.103.200' });
  const sleeper = startProgram(w, ['sleep', '60'], 1000);
  const report = await cleanup(prefixes);
  assert.deepEqual(report.namespaces.sort(), [t.netns, w.netns].sort());
  assert.deepEqual(report.bridges, ['sltcapc0']);
  assert.deepEqual(report.netnsDirs, [w.netns]);
  assert.ok(sleeper.child.pid !== undefined && report.killedPids.includes(sleeper.child.pid));
  assert.notEqual(await sleeper.exited, 0);
  assert.doesNotMatch(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }), /slt-cap-c-/);
  assert.doesNotMatch(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }), /sltcc|sltcapc/);
  assert.equal(existsSync(w.resolvConf), false);
  await w.destroy(); // still fine after cleanup
  assert.deepEqual(await cleanup(prefixes), { namespaces: [], killedPids: [], veths: [], bridges: [], netnsDirs: [] });
});

test('cleanup() refuses a prefix that would match almost anything', async () => {
  await assert.rejects(cleanup({ prefix: '' }), { code: 'ERR_CAPTURE_OPTIONS', path: 'netnsPrefix' });
  await assert.rejects(cleanup({ netnsPrefix: 's' }), { code: 'ERR_CAPTURE_OPTIONS' });
});
