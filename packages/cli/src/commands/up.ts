/**
 * `sluice up`: runs the control plane in the foreground (API server, xDS server, store) until
 * SIGINT/SIGTERM. Prints where the kubeconfig is; logs go to stderr as JSON lines.
 */
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { Option } from 'commander';
import { CliError, DEFAULT_DATA_DIR, runCommand } from '../client.js';

export interface UpOptions {
  dataDir: string;
  store: 'sqlite' | 'etcd';
  etcdEndpoints?: string;
  listen: string;
  xdsListen: string;
  insecureHttp?: boolean;
  logLevel: string;
}

/** `127.0.0.1:15080`, `[::1]:15080`, `:15080` (loopback) → host and port. */
export function parseListen(text: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text.trim());
  const host = m ? (m[1] ?? m[2] ?? '') : '';
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new CliError('BadArguments', `${flag} must be HOST:PORT, e.g. 127.0.0.1:15080 (got "${text}")`);
  if (host !== '' && host !== 'localhost' && !isIP(host))
    throw new CliError('BadArguments', `${flag}: "${host}" is not an IP address`);
  return { host: host === '' || host === 'localhost' ? '127.0.0.1' : host, port };
}

export async function runUp(opts: UpOptions): Promise<void> {
  const api = parseListen(opts.listen, '--listen');
  const xds = opts.xdsListen.split(',').map((s) => parseListen(s, '--xds-listen'));
  const xdsPort = xds[0]!.port;
  if (xds.some((x) => x.port !== xdsPort))
    throw new CliError('BadArguments', '--xds-listen: every address must use the same port');
  const etcdEndpoints = (opts.etcdEndpoints ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (opts.store === 'etcd' && etcdEndpoints.length === 0)
    throw new CliError('BadArguments', '--store etcd needs --etcd-endpoints, e.g. http://127.0.0.1:2379');
  const { default: pino } = await import('pino');
  const { startControlPlane } = await import('@sluice/controlplane');
  const logger = pino({ name: 'sluice', level: opts.logLevel }, pino.destination(2));
  const cp = await startControlPlane({
    dataDir: opts.dataDir,
    store: opts.store,
    etcdEndpoints,
    apiAddress: api.host,
    apiPort: api.port,
    xdsAddresses: xds.map((x) => x.host),
    xdsPort,
    insecureHttp: !!opts.insecureHttp,
    logger,
  });
  process.stdout.write(
    `Sluice control plane is up.\n  API:        ${cp.apiUrl}\n  xDS:        ${xds.map((x) => `${x.host.includes(':') ? `[${x.host}]` : x.host}:${cp.xdsPort}`).join(', ')}\n  store:      ${opts.store}\n  kubeconfig: ${cp.kubeconfigPath}\n\nexport KUBECONFIG=${cp.kubeconfigPath}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'stopping');
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve();
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
  const forced = setTimeout(() => void cp.destroy(), 5000);
  await cp.close();
  clearTimeout(forced);
}

export function register(program: Command): void {
  program
    .command('up')
    .description('run the control plane in the foreground (API for kubectl and sluice, xDS for proxies)')
    .option('--data-dir <dir>', 'where the store, certificates, token and kubeconfig live', DEFAULT_DATA_DIR)
    .addOption(
      new Option('--store <backend>', 'where resources are stored').choices(['sqlite', 'etcd']).default('sqlite'),
    )
    .option('--etcd-endpoints <urls>', 'comma-separated etcd endpoints (with --store etcd)')
    .option('--listen <host:port>', 'API server address (HTTPS)', '127.0.0.1:15080')
    .option('--xds-listen <host:port,...>', 'xDS server addresses, one port', '127.0.0.1:15010')
    .option('--insecure-http', 'serve the API over plain HTTP WITHOUT authentication (loopback only)')
    .addOption(
      new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  sluice up\n  sluice up --data-dir /var/lib/sluice --xds-listen 127.0.0.1:15010,10.233.77.1:15010\n  sluice up --store etcd --etcd-endpoints http://127.0.0.1:2379',
    )
    .action((opts: UpOptions) => runCommand(() => runUp(opts)));
}
