/**
 * The control plane process: opens the store, serves the Kubernetes-style API and the xDS server,
 * and exposes the xDS server's debug views on the API. `close()` and `destroy()` are idempotent.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openEtcdStore, openSqliteStore, type Store } from '@sluice/store';
import pino, { type Logger } from 'pino';
import { ensureCredentials, serverUrl, writeKubeconfig } from './api/credentials.js';
import { ApiServer } from './api/server.js';
import { StatusController } from './status/index.js';
import { StoreConfigSource, XdsServer } from './xds/index.js';

export interface ControlPlaneOptions {
  dataDir: string;
  store?: 'sqlite' | 'etcd';
  etcdEndpoints?: string[];
  /** Default 127.0.0.1. */
  apiAddress?: string;
  /** Default 15080; 0 picks a free port. */
  apiPort?: number;
  /** Default ['127.0.0.1']. */
  xdsAddresses?: string[];
  /** Default 15010; 0 picks a free port. */
  xdsPort?: number;
  /** Plain HTTP without authentication (loopback only). */
  insecureHttp?: boolean;
  logger?: Logger;
  /** Request body limit in bytes (default 3 MiB). */
  maxBodyBytes?: number;
}

export class ControlPlaneError extends Error {
  constructor(
    readonly code: 'BadOptions',
    message: string,
  ) {
    super(message);
    this.name = 'ControlPlaneError';
  }
}

/** A running control plane. Fields describe where it listens and the kubeconfig that reaches it. */
export class ControlPlane {
  private closing?: Promise<void>;

  constructor(
    readonly store: Store,
    readonly api: ApiServer,
    /** `https://127.0.0.1:15080` (or http:// when insecure). */
    readonly apiUrl: string,
    readonly kubeconfigPath: string,
    readonly logger: Logger,
    /** The xDS (ADS) server pushing this control plane's config to proxies. */
    readonly xds: XdsServer,
    readonly xdsPort: number,
    private readonly source: StoreConfigSource,
    /** Writes ServiceEntry statuses (auto-allocated VIPs, shared-port conflicts). */
    readonly status: StatusController,
  ) {}

  get apiPort(): number {
    return this.api.address().port;
  }

  /** Graceful: ends watches, waits for requests, stops xDS, closes the store. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.api.close();
      await this.status.close();
      // Streams of proxies whose namespace is already gone never finish a graceful shutdown
      // (no FIN will come): give them a moment, then drop them.
      const grace = setTimeout(() => this.xds.destroy(), 2000);
      await this.xds.close();
      clearTimeout(grace);
      this.source.close();
      await this.store.close();
      this.logger.info('control plane stopped');
    })();
    return this.closing;
  }

  /** Immediate: drops connections, then closes the store. Idempotent. */
  destroy(): Promise<void> {
    this.api.destroy();
    this.status.destroy();
    this.xds.destroy();
    return this.close();
  }
}

async function openStore(opts: ControlPlaneOptions): Promise<Store> {
  const kind = opts.store ?? 'sqlite';
  if (kind === 'sqlite') return openSqliteStore(join(opts.dataDir, 'sluice.db'));
  const endpoints = opts.etcdEndpoints ?? [];
  if (endpoints.length === 0)
    throw new ControlPlaneError('BadOptions', 'the etcd store needs at least one endpoint (--etcd-endpoints)');
  return openEtcdStore({ endpoints });
}

/** Starts a control plane. On failure everything already started is closed again. */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const logger = opts.logger ?? pino({ name: 'sluice-controlplane' });
  const apiAddress = opts.apiAddress ?? '127.0.0.1';
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore(opts);
  const source = new StoreConfigSource(store, { logger: logger.child({ component: 'xds' }) });
  const xds = new XdsServer({ source, logger: logger.child({ component: 'xds' }) });
  const status = new StatusController({
    store,
    source,
    registry: xds.metrics.registry,
    logger: logger.child({ component: 'status' }),
  });
  let api: ApiServer | undefined;
  try {
    const xdsAddresses = opts.xdsAddresses ?? ['127.0.0.1'];
    const xdsPort = await xds.listen(xdsAddresses, opts.xdsPort ?? 15010);
    const creds = opts.insecureHttp ? undefined : ensureCredentials(opts.dataDir, apiAddress);
    api = new ApiServer({
      store,
      logger,
      host: apiAddress,
      port: opts.apiPort ?? 15080,
      ...(creds ? { tls: { key: creds.key, cert: creds.cert }, token: creds.token } : {}),
      ...(opts.maxBodyBytes ? { maxBodyBytes: opts.maxBodyBytes } : {}),
      debug: () => xds,
      metrics: xds.metrics.registry,
    });
    await status.start();
    const addr = await api.listen();
    const apiUrl = serverUrl(creds ? 'https' : 'http', apiAddress, addr.port);
    const kubeconfigPath = writeKubeconfig(opts.dataDir, apiUrl, creds);
    logger.info(
      {
        api: apiUrl,
        kubeconfig: kubeconfigPath,
        xds: xdsAddresses.map((a) => `${a}:${xdsPort}`),
        store: opts.store ?? 'sqlite',
      },
      'control plane started',
    );
    return new ControlPlane(store, api, apiUrl, kubeconfigPath, logger, xds, xdsPort, source, status);
  } catch (err) {
    api?.destroy();
    await status.close();
    xds.destroy();
    source.close();
    await store.close();
    throw err;
  }
}
