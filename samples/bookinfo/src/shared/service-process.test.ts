import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { REPO_ROOT } from '../testing/bookinfo-process.js';
import { InvalidPortError, listenPort } from './service-process.js';

describe('listenPort', () => {
  test('takes the first argument, else env PORT, else 9080', () => {
    assert.equal(listenPort(['node', 'main.ts', '8081'], { PORT: '7000' }), 8081);
    assert.equal(listenPort(['node', 'main.ts'], { PORT: '7000' }), 7000);
    assert.equal(listenPort(['node', 'main.ts'], {}), 9080);
    assert.equal(listenPort(['node', 'main.ts', '0'], {}), 0);
  });

  test('refuses anything that is not a port, naming where it came from', () => {
    assert.throws(() => listenPort(['node', 'main.ts', 'http'], {}), InvalidPortError);
    assert.throws(() => listenPort(['node', 'main.ts', '65536'], {}), /invalid port "65536" from argv\[1\]/);
    assert.throws(() => listenPort(['node', 'main.ts'], { PORT: '-1' }), /from env PORT/);
  });

  test('a service given a bad port exits 2 with that message and does not listen', () => {
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(REPO_ROOT, 'samples/bookinfo/src/details/main.ts'), 'eighty'],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(result.status, 2);
    assert.match(result.stderr, /details: invalid port "eighty" from argv\[1\]/);
    assert.doesNotMatch(result.stdout, /listening/);
  });
});
