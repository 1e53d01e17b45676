/** The logging the xDS server needs; pino's logger satisfies it. */
export interface XdsLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const noop = () => {};
export const silentLogger: XdsLogger = { debug: noop, info: noop, warn: noop, error: noop };
