/** SERVICE_VERSION values of the ratings images. */
export type RatingsVersion = 'v1' | 'v2' | 'v-faulty' | 'v-delayed' | 'v-unavailable' | 'v-unhealthy';

/** How long a v-delayed reply waits when it is delayed. */
export const DELAY_MS = 7000;
/** v-unavailable flips between 503 and normal this often. */
export const UNAVAILABLE_FLIP_MS = 60_000;
/** v-unhealthy flips health (and availability) this often. */
export const UNHEALTHY_FLIP_MS = 15 * 60_000;

/**
 * Health and availability of a ratings process. Flips on timers for v-unavailable and v-unhealthy
 * exactly as the original does; `close()` stops the timer (idempotent).
 */
export class RatingsCondition {
  healthy = true;
  unavailable = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(version: string) {
    if (version === 'v-unavailable') {
      this.timer = setInterval(() => {
        this.unavailable = !this.unavailable;
      }, UNAVAILABLE_FLIP_MS);
    } else if (version === 'v-unhealthy') {
      this.timer = setInterval(() => {
        this.healthy = !this.healthy;
        this.unavailable = !this.unavailable;
      }, UNHEALTHY_FLIP_MS);
    }
    this.timer?.unref();
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
