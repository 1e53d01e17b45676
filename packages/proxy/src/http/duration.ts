/** Parses a proto3-JSON duration ("15s", "0.250s") into milliseconds; undefined when malformed. */
export function durationToMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d+)(?:\.(\d{1,9}))?s$/.exec(value);
  if (!m) return undefined;
  const seconds = Number(m[1]);
  const nanos = m[2] ? Number(m[2].padEnd(9, '0')) : 0;
  return seconds * 1000 + nanos / 1e6;
}

/** Envoy's FractionalPercent denominators. */
export const denominators = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 } as const;

/** A FractionalPercent as a probability in [0, 1]; an absent percentage is 0 (the proto default). */
export function fractionOf(percent: { numerator?: number; denominator?: string | number } | undefined): number {
  if (!percent) return 0;
  const numerator = Number(percent.numerator ?? 0);
  const d = percent.denominator ?? 'HUNDRED';
  const denominator =
    typeof d === 'number' ? [100, 10_000, 1_000_000][d] : denominators[d as keyof typeof denominators];
  if (!denominator) return 0;
  return Math.min(1, Math.max(0, numerator / denominator));
}
