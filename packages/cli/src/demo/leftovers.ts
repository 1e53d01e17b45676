/**
 * Removes what an earlier demo left behind: its runtime process, the namespaces and bridge of its
 * mesh (processes still in them are killed), its data dir and its MariaDB directory. Only names of
 * this demo's mesh are touched; other meshes on the machine are left alone.
 */
import { rmSync } from 'node:fs';
import { cleanup } from '@sluice/capture';
import type { DemoLayout } from './layout.js';
import { stopDemoRuntime } from './runtime-process.js';

export async function removeDemoLeftovers(layout: DemoLayout): Promise<string[]> {
  const found: string[] = [];
  if (await stopDemoRuntime(layout)) found.push('a running demo environment (stopped)');
  const report = await cleanup({
    netnsPrefix: `sl-${layout.meshName}-`,
    bridgePrefix: `slbr-${layout.meshName}`,
    // Host-side veths go with their namespaces; this prefix matches no veth name on purpose
    // (they all start with "slv"), so veths of other meshes are never touched.
    vethPrefix: `sl-${layout.meshName}-`,
  });
  if (report.namespaces.length) found.push(`namespaces ${report.namespaces.join(', ')}`);
  if (report.killedPids.length) found.push(`${report.killedPids.length} processes left in them`);
  if (report.bridges.length) found.push(`bridge ${report.bridges.join(', ')}`);
  rmSync(layout.dataDir, { recursive: true, force: true });
  rmSync(layout.mysqlDir, { recursive: true, force: true });
  return found;
}
