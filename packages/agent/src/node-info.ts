/**
 * `<data dir>/node.json`: where a running node's mesh lives, so `sluice run`, `sluice logs` and
 * `sluice demo --down` can find it. Written by `sluice up`, removed when it stops.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { MeshNetwork } from '@sluice/capture';

export interface NodeInfo {
  mesh: MeshNetwork;
  xdsPort: number;
  logDir: string;
  pid: number;
}

export class NodeInfoError extends Error {
  readonly code = 'NoNode';
}

export function nodeInfoPath(dataDir: string): string {
  return path.join(dataDir, 'node.json');
}

export function writeNodeInfo(dataDir: string, info: NodeInfo): void {
  writeFileSync(nodeInfoPath(dataDir), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
}

export function removeNodeInfo(dataDir: string): void {
  rmSync(nodeInfoPath(dataDir), { force: true });
}

/** Reads node.json; a clear error when no node runs with that data dir. */
export function readNodeInfo(dataDir: string): NodeInfo {
  const file = nodeInfoPath(dataDir);
  let info: NodeInfo;
  try {
    info = JSON.parse(readFileSync(file, 'utf8')) as NodeInfo;
  } catch {
    throw new NodeInfoError(
      `no Sluice node found: ${file} is missing (is \`sluice up\` running with --data-dir ${dataDir}?)`,
    );
  }
  try {
    process.kill(info.pid, 0);
  } catch {
    throw new NodeInfoError(`the Sluice node recorded in ${file} (pid ${info.pid}) is not running`);
  }
  return info;
}
