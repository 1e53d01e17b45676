/**
 * The proxy's operational log (stderr, JSON lines, via pino). The access log is separate (stdout).
 */
import pino from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** The logger interface the proxy needs (pino's, reduced). */
export interface ProxyLogger {
  level: string;
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A pino logger writing JSON lines to stderr (fd 2) synchronously. */
export function stderrLogger(level: LogLevel = 'info'): ProxyLogger {
  return pino({ level, base: { component: 'sluice-proxy' } }, pino.destination({ fd: 2, sync: true }));
}
