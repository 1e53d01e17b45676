/** Istio (Go) durations such as "10s", "1.5s", "250ms", "1h30m" → proto3 JSON durations ("10s", "0.250s"). */
import { durationToString } from '@sluice/xds';

/** A duration field that is not a Go duration; `message` names the resource field. */
export class InvalidDurationError extends Error {
  readonly code = 'XDS_INVALID_DURATION';
}

const UNIT_NS: Record<string, number> = { h: 3600e9, m: 60e9, s: 1e9, ms: 1e6, us: 1e3, µs: 1e3, ns: 1 };

/** Parses a Go duration into nanoseconds. Throws {@link InvalidDurationError} naming `where`. */
export function durationNanos(text: string, where: string): number {
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * (UNIT_NS[m[2] ?? 's'] ?? 0);
    matched = re.lastIndex;
  }
  if (!text || matched !== text.length) {
    throw new InvalidDurationError(`${where}: "${text}" is not a duration (expected e.g. "10s", "250ms", "1h")`);
  }
  return Math.round(total);
}

/** Converts a Go duration to the proto3 JSON form the xDS codec expects. */
export function protoDuration(text: string, where: string): string {
  const ns = durationNanos(text, where);
  return durationToString(Math.floor(ns / 1e9), ns % 1e9);
}

/** Whole seconds (for TcpKeepalive's uint32 fields), at least 1. */
export function durationSeconds(text: string, where: string): number {
  return Math.max(1, Math.round(durationNanos(text, where) / 1e9));
}
