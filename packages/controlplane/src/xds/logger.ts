/** The logging the xDS server needs; pino's logger satisfies it. */
export interface XdsLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  /** pino's: lets per-message debug lines skip building their fields when debug is off. */
  isLevelEnabled?(level: string): boolean;
}

/** Whether `logger` writes debug lines (true when it cannot tell). */
export function debugEnabled(logger: XdsLogger): boolean {
  return logger.isLevelEnabled ? logger.isLevelEnabled('debug') : true;
}

const noop = () => {};
export const silentLogger: XdsLogger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  isLevelEnabled: () => false,
};
