/**
 * Picks an unused address for an ad-hoc workload (`sluice run`) in .150–.199 of the mesh /24,
 * the range the agent never hands out (docs/networking.md), by asking each mesh namespace its address.
 */
import { execFileSync } from 'node:child_process';
import type { MeshNetwork } from '@sluice/capture';

export function freeAdHocIp(mesh: MeshNetwork): string {
  const used = new Set<string>();
  const list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const line of list.split('\n')) {
    const ns = line.split(' ')[0];
    if (!ns?.startsWith(mesh.netnsPrefix)) continue;
    try {
      const out = execFileSync('ip', ['-n', ns, '-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
      for (const m of out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)) used.add(m[1] as string);
    } catch {
      /* namespace vanished meanwhile */
    }
  }
  const prefix = mesh.gateway.split('.').slice(0, 3).join('.');
  const start = 150 + Math.floor(Math.random() * 50);
  for (let i = 0; i < 50; i++) {
    const ip = `${prefix}.${150 + ((start - 150 + i) % 50)}`;
    if (!used.has(ip)) return ip;
  }
  throw new Error(`no free ad-hoc address left in ${prefix}.150-199`);
}
