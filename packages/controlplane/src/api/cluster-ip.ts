/**
 * Kubernetes Service VIPs (`spec.clusterIP`) from 240.241.0.0/16: allocated on create, stable for
 * the Service's life, never routed anywhere (only sidecars know them). See docs/networking.md.
 */
import { createHash } from 'node:crypto';
import type { Store } from '@sluice/store';
import type { StatusCause } from './status.js';

export const SERVICE_VIP_CIDR = '240.241.0.0/16';
const BASE = 240 * 2 ** 24 + 241 * 2 ** 16;
const SIZE = 1 << 16;

function toIp(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function inServiceRange(ip: string): boolean {
  const m = /^240\.241\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  return !!m && Number(m[1]) <= 255 && Number(m[2]) <= 255;
}

const invalid = (ip: string, why: string): StatusCause => ({
  field: 'spec.clusterIP',
  reason: 'FieldValueInvalid',
  message: `Invalid value: "${ip}": ${why}`,
});

/**
 * Picks addresses by hashing namespace/name and probing upward, so a Service deleted and created
 * again usually gets its old VIP back. Calls are serialised: two creates never share an address.
 */
export class ClusterIpAllocator {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: Store) {}

  /** Runs `fn` with the allocator locked (allocate-then-store must not interleave). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async used(): Promise<Set<string>> {
    const { items } = await this.store.list({ kind: 'Service' });
    return new Set(
      items.map((s) => (s.spec as { clusterIP?: string } | undefined)?.clusterIP).filter((ip): ip is string => !!ip),
    );
  }

  /** Returns the address for a new Service, or causes explaining why a requested one is refused. */
  async allocate(
    namespace: string,
    name: string,
    requested?: string,
  ): Promise<{ ip: string } | { causes: StatusCause[] }> {
    const used = await this.used();
    if (requested) {
      if (requested === 'None') return { ip: 'None' };
      if (!inServiceRange(requested))
        return {
          causes: [
            invalid(requested, `provided IP is not in the valid range. The range of valid IPs is ${SERVICE_VIP_CIDR}`),
          ],
        };
      if (used.has(requested)) return { causes: [invalid(requested, 'provided IP is already allocated')] };
      return { ip: requested };
    }
    const start = createHash('sha256').update(`${namespace}/${name}`).digest().readUInt32BE(0) % SIZE;
    for (let i = 0; i < SIZE; i++) {
      const offset = (start + i) % SIZE;
      if (offset === 0 || offset === SIZE - 1) continue; // network and broadcast-looking addresses
      const ip = toIp(BASE + offset);
      if (!used.has(ip)) return { ip };
    }
    return { causes: [invalid('', `no free address left in ${SERVICE_VIP_CIDR}`)] };
  }
}
