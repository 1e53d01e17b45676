/** Temp directories of the hardening suite: named `slt-hard-…` and removed by `remove()`. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  readonly path: string;
  remove(): void;
}

export function makeTempDir(purpose: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), `slt-hard-${purpose}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
