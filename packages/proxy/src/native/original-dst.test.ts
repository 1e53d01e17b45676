import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assertNativeAddon } from './original-dst.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const addonPath = path.resolve(here, '..', '..', 'native', 'build', 'Release', 'original_dst.node');
const fixture = path.resolve(here, '..', 'testing', 'original-dst-fixture.mjs');

test('SO_ORIGINAL_DST: behind an iptables REDIRECT the listener sees the peer address:port the client dialled', (t) => {
  assertNativeAddon();
  const ns = `slt-px-od${process.pid % 100000}`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  spawnSync('ip', ['netns', 'del', ns]);
  ip('netns', 'add', ns);
  t.after(() => spawnSync('ip', ['netns', 'del', ns]));
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  // A veth pair with both ends inside the namespace gives 10.233.90.0/24 a route there only.
  ip('-n', ns, 'link', 'add', 'slt-px-a', 'type', 'veth', 'peer', 'name', 'slt-px-b');
  ip('-n', ns, 'addr', 'add', '10.233.90.2/24', 'dev', 'slt-px-a');
  ip('-n', ns, 'link', 'set', 'slt-px-a', 'up');
  ip('-n', ns, 'link', 'set', 'slt-px-b', 'up');
  execFileSync('ip', [
    'netns',
    'exec',
    ns,
    'iptables',
    '-t',
    'nat',
    '-A',
    'OUTPUT',
    '-p',
    'tcp',
    '-d',
    '10.233.90.5',
    '--dport',
    '3306',
    '-j',
    'REDIRECT',
    '--to-ports',
    '15001',
  ]);
  const out = execFileSync(
    'ip',
    ['netns', 'exec', ns, process.execPath, fixture, addonPath, '15001', '10.233.90.5', '3306'],
    {
      encoding: 'utf8',
      timeout: 10_000,
    },
  );
  assert.deepEqual(JSON.parse(out.trim()), { address: '10.233.90.5', port: 3306, family: 4 });
});

test('originalDst rejects a bad file descriptor with a TypeError', async () => {
  const { originalDstOfFd } = await import('./original-dst.js');
  assert.throws(() => originalDstOfFd(-1), TypeError);
});
