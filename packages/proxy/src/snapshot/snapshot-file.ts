/**
 * The last good snapshot on disk, so a restarted proxy enforces before it reaches the control plane
 * (fail static). Format: JSON `{ format, checksum, savedAt, resources }`, checksum = SHA-256 of the
 * canonical JSON of `resources`; written to a temporary file and renamed (never half-written).
 */
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { SnapshotResources } from '../xds/resources.js';

const FORMAT = 'sluice.proxy.snapshot/v1';

/** The snapshot file exists but cannot be trusted. */
export class SnapshotFileError extends Error {
  readonly code = 'ERR_SLUICE_SNAPSHOT_FILE';
}

function checksumOf(resources: SnapshotResources): string {
  return createHash('sha256').update(JSON.stringify(resources)).digest('hex');
}

export async function saveSnapshotFile(file: string, resources: SnapshotResources): Promise<void> {
  const body = JSON.stringify({
    format: FORMAT,
    checksum: checksumOf(resources),
    savedAt: new Date().toISOString(),
    resources,
  });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, body, { mode: 0o600 });
  await rename(tmp, file);
}

/**
 * Reads the snapshot file. undefined when there is none; throws {@link SnapshotFileError} naming
 * the problem when it exists but is corrupt (bad JSON, wrong format, checksum mismatch).
 */
export async function loadSnapshotFile(file: string): Promise<SnapshotResources | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SnapshotFileError(`${file}: cannot read: ${(e as Error).message}`);
  }
  let doc: { format?: unknown; checksum?: unknown; resources?: SnapshotResources };
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SnapshotFileError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (doc.format !== FORMAT)
    throw new SnapshotFileError(`${file}: format is ${String(doc.format)}, expected ${FORMAT}`);
  const r = doc.resources;
  if (!r || typeof r !== 'object' || !r.listeners || !r.clusters || !r.routes || !r.endpoints || !r.versions) {
    throw new SnapshotFileError(`${file}: resources: missing listeners/clusters/routes/endpoints/versions`);
  }
  if (checksumOf(r) !== doc.checksum)
    throw new SnapshotFileError(`${file}: checksum mismatch (file altered or truncated)`);
  return r;
}
