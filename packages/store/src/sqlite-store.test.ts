import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { registerStoreConformance } from './conformance.js';
import { openSqliteDatabase } from './sqlite-driver.js';
import { openSqliteStore } from './sqlite-store.js';
import { StoreError } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'slt-store-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let spaces = 0;

registerStoreConformance({
  name: 'SQLite',
  async createSpace({ historyLimit }) {
    const path = join(dir, `store-${++spaces}.db`);
    return {
      open: async () => openSqliteStore(path, { historyLimit }),
      peer: { backend: 'sqlite', path, historyLimit },
      destroy: async () => {
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
      },
    };
  },
});

test('SQLite: the file is in WAL mode, history stays bounded, and reopening continues the revision', async (t) => {
  const path = join(dir, 'bounded.db');
  const store = openSqliteStore(path, { historyLimit: 50 });
  t.after(() => store.close());
  for (let i = 0; i < 200; i++) {
    await store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}`, namespace: 'ns' } });
  }
  const db = openSqliteDatabase(path, { readonly: true });
  const mode = db.pragma('journal_mode', { simple: true });
  const events = (db.prepare<{ n: number }>('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  db.close();
  assert.equal(mode, 'wal');
  assert.ok(events >= 50 && events <= 55, `events kept: ${events}`);
  await store.close();

  const reopened = openSqliteStore(path, { historyLimit: 50 });
  t.after(() => reopened.close());
  assert.equal(await reopened.revision(), '200');
  assert.equal((await reopened.list({ kind: 'ConfigMap' })).items.length, 200);
  const next = await reopened.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'next', namespace: 'ns' },
  });
  assert.equal(next.metadata.resourceVersion, '201');
});

test('SQLite: an unusable path is Unavailable and names the file', () => {
  assert.throws(
    () => openSqliteStore(join(dir, 'no-such-dir', 'x.db')),
    (err: unknown) => err instanceof StoreError && err.code === 'Unavailable' && err.message.includes('no-such-dir'),
  );
});
