import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSqliteDatabase } from './sqlite-driver.js';
import { openSqliteStore } from './sqlite-store.js';
import { type AckedWrite, runAndKillWriter } from './testdata/crash-harness.js';

test('SQLite: every write acknowledged before a SIGKILL is present and intact after reopening', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'slt-store-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'store.db');
  const all: AckedWrite[] = [];
  for (let round = 0; round < 4; round++) {
    const acked = await runAndKillWriter(
      { backend: 'sqlite', path, historyLimit: 10_000 },
      `r${round}`,
      Math.floor(Math.random() * 300),
    );
    all.push(...acked);

    const db = openSqliteDatabase(path);
    const integrity = db.pragma('integrity_check', { simple: true });
    db.close();
    assert.equal(integrity, 'ok', `round ${round}: integrity_check`);

    const store = openSqliteStore(path);
    try {
      let lastCounter: AckedWrite | undefined;
      for (const w of all) {
        if (w.name === 'counter') {
          lastCounter = w;
          continue;
        }
        const got = await store.get({ kind: 'ConfigMap', namespace: 'crash', name: w.name });
        assert.ok(got, `round ${round}: acknowledged ${w.name} is missing`);
        assert.deepEqual(got.spec, w.spec, `round ${round}: ${w.name} is not intact`);
        assert.ok(Number(got.metadata.resourceVersion) === Number(w.resourceVersion));
      }
      if (lastCounter) {
        const counter = await store.get({ kind: 'ConfigMap', namespace: 'crash', name: 'counter' });
        assert.ok(counter, 'the acknowledged counter is missing');
        assert.ok(
          Number(counter.metadata.resourceVersion) >= Number(lastCounter.resourceVersion),
          `counter went back from ${lastCounter.resourceVersion} to ${counter.metadata.resourceVersion}`,
        );
      }
      const maxAcked = Math.max(...all.map((w) => Number(w.resourceVersion)));
      assert.ok(Number(await store.revision()) >= maxAcked, 'the revision counter went back');
      const created = await store.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `after-${round}`, namespace: 'crash' },
      });
      assert.ok(Number(created.metadata.resourceVersion) > maxAcked, 'a write after recovery gets a new revision');
    } finally {
      await store.close();
    }
  }
  assert.ok(all.length >= 4);
});
