/** Milliseconds of a proto3-JSON duration ("10s", "0.250s"); `fallback` when absent. */
export function durationMs(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const m = /^(\d+)(?:\.(\d{1,9}))?s$/.exec(value);
  if (!m) return fallback;
  return Number(m[1]) * 1000 + (m[2] ? Number(`0.${m[2]}`) * 1000 : 0);
}

/** true when the text is a non-negative proto3-JSON duration. */
export function isDuration(value: unknown): boolean {
  return typeof value === 'string' && /^\d+(?:\.\d{1,9})?s$/.test(value);
}
