/**
 * Loads the HTTP router (`../http/index.js`) and the ClientHello reader (`../tls/index.js`) on first
 * use. When a module is absent the proxy keeps running: TLS ports are decided without SNI and HTTP
 * chains close their connections (flag NR), each with a clear error in the log once.
 */
import type { ReadClientHello, ServeHttpConnection } from '../handoff.js';
import type { ProxyLogger } from '../logger.js';

let http: Promise<ServeHttpConnection | undefined> | undefined;
let tls: Promise<ReadClientHello | undefined> | undefined;

async function load<T>(specifier: string, exportName: string, logger: ProxyLogger): Promise<T | undefined> {
  try {
    const mod = (await import(specifier)) as Record<string, unknown>;
    const fn = mod[exportName];
    if (typeof fn !== 'function') throw new Error(`it does not export a function named ${exportName}`);
    return fn as T;
  } catch (e) {
    logger.error(
      { module: specifier, error: (e as Error).message },
      `cannot load ${specifier} (${exportName}); the proxy runs without it`,
    );
    return undefined;
  }
}

export function httpModule(logger: ProxyLogger): Promise<ServeHttpConnection | undefined> {
  http ??= load<ServeHttpConnection>('../http/index.js', 'serveHttpConnection', logger);
  return http;
}

export function tlsModule(logger: ProxyLogger): Promise<ReadClientHello | undefined> {
  tls ??= load<ReadClientHello>('../tls/index.js', 'readClientHello', logger);
  return tls;
}
