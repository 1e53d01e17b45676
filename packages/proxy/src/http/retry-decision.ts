/** Which attempt outcomes a retry policy retries (Envoy's retry_on semantics for HTTP/1.1). */
import type { RetryPolicy } from './types.js';

export type AttemptFailure = 'connect-failure' | 'reset' | 'per-try-timeout' | 'protocol-error';

export function isRetriableStatus(policy: RetryPolicy, status: number): boolean {
  const on = policy.retryOn;
  if (on.has('5xx') && status >= 500 && status < 600) return true;
  if (on.has('gateway-error') && (status === 502 || status === 503 || status === 504)) return true;
  if (on.has('retriable-4xx') && status === 409) return true;
  if (on.has('retriable-status-codes') && policy.retriableStatusCodes.has(status)) return true;
  return false;
}

export function isRetriableFailure(policy: RetryPolicy, failure: AttemptFailure): boolean {
  const on = policy.retryOn;
  if (on.has('5xx') || on.has('gateway-error')) return true;
  if (failure === 'connect-failure') return on.has('connect-failure') || on.has('reset');
  if (failure === 'reset') return on.has('reset');
  return false;
}

/** Envoy's default back-off: full jitter over 25 ms × 2^(n−1), capped at 250 ms. */
export function backoffMs(retryNumber: number): number {
  const ceiling = Math.min(250, 25 * 2 ** Math.max(0, retryNumber - 1));
  return Math.floor(Math.random() * ceiling);
}
