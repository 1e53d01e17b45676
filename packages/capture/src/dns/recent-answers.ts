/**
 * A bounded least-recently-used map from an IP address to the host name last answered with it.
 * Insertion and lookup are O(1) (a `Map` keeps insertion order; touching re-inserts).
 */
export class RecentAnswers {
  private readonly names = new Map<string, string>();
  readonly capacity: number;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
  }

  remember(ip: string, name: string): void {
    this.names.delete(ip);
    this.names.set(ip, name);
    if (this.names.size > this.capacity) {
      const oldest = this.names.keys().next().value as string;
      this.names.delete(oldest);
    }
  }

  /** The name, marking the entry as recently used. */
  get(ip: string): string | undefined {
    const name = this.names.get(ip);
    if (name !== undefined) {
      this.names.delete(ip);
      this.names.set(ip, name);
    }
    return name;
  }

  get size(): number {
    return this.names.size;
  }
}
