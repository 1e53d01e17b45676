/** Hands out workload addresses in the mesh /24 (.10–.149, see docs/networking.md). */
export class IpPool {
  private readonly used = new Set<number>();
  private readonly prefix: string;

  constructor(
    subnet: string,
    private readonly first = 10,
    private readonly last = 199,
  ) {
    const m = /^(\d+\.\d+\.\d+)\.0\/24$/.exec(subnet);
    if (!m) throw new Error(`mesh subnet must be an IPv4 /24 like 10.233.77.0/24, got "${subnet}"`);
    this.prefix = m[1] as string;
  }

  allocate(): string {
    for (let i = this.first; i <= this.last; i++) {
      if (!this.used.has(i)) {
        this.used.add(i);
        return `${this.prefix}.${i}`;
      }
    }
    throw new Error(`no free workload address left in ${this.prefix}.0/24`);
  }

  release(ip: string): void {
    const last = Number(ip.split('.').pop());
    this.used.delete(last);
  }
}
