import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { registerStoreConformance } from './conformance.js';
import { openSqliteStore } from './sqlite-store.js';

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
