/**
 * `sluice up`: runs the control plane in the foreground (API server, xDS server, store) and, as
 * root, the node agent that runs Deployments as workloads with sidecars on the mesh bridge, until
 * SIGINT/SIGTERM. Prints where the kubeconfig is; logs go to stderr as JSON lines.
 */
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { Option } from 'commander';
import { CliError, DEFAULT_DATA_DIR, runCommand } from '../client.js';

/** The image table shipped with Bookinfo. */
export const DEFAULT_IMAGES = fileURLToPath(new URL('../../../../samples/bookinfo/images.yaml', import.meta.url));

export interface UpOptions {
  dataDir: string;
  store: 'sqlite' | 'etcd';
  etcdEndpoints?: string;
  listen: string;
  xdsListen: string;
  insecureHttp?: boolean;
  logLevel: string;
  /** Run the node agent (default: when root). `--no-node` turns it off. */
  node?: boolean;
  meshName: string;
  meshSubnet: string;
  images: string;
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
  const runNode = opts.node !== false && process.getuid?.() === 0;
  if (opts.node === true && process.getuid?.() !== 0) {
    throw new CliError(
      'BadArguments',
      'the node agent needs root (network namespaces, iptables); run as root or with --no-node',
    );
  }
  // The mesh bridge comes first: sidecars reach the xDS server at the bridge address.
  const capture = runNode ? await import('@sluice/capture') : undefined;
  const mesh = capture ? await capture.createMeshNetwork({ name: opts.meshName, subnet: opts.meshSubnet }) : undefined;
  if (mesh && !xds.some((x) => x.host === mesh.gateway)) xds.push({ host: mesh.gateway, port: xdsPort });
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
  let node: import('@sluice/agent').SluiceNode | undefined;
  if (mesh) {
    const agent = await import('@sluice/agent');
    const images = agent.loadImageTable(opts.images);
    node = await agent.SluiceNode.start({
      api: agent.loadKubeconfig(cp.kubeconfigPath),
      dataDir: opts.dataDir,
      images,
      meshName: mesh.name,
      subnet: mesh.subnet,
      xdsPort: cp.xdsPort,
      log: (msg, fields) => logger.info({ component: 'agent', ...fields }, msg),
    });
    agent.writeNodeInfo(opts.dataDir, { mesh, xdsPort: cp.xdsPort, logDir: node.logDir, pid: process.pid });
  }
  process.stdout.write(
    `Sluice control plane is up.\n  API:        ${cp.apiUrl}\n  xDS:        ${xds.map((x) => `${x.host.includes(':') ? `[${x.host}]` : x.host}:${cp.xdsPort}`).join(', ')}\n  store:      ${opts.store}\n  node:       ${mesh ? `mesh ${mesh.name} on ${mesh.subnet} (bridge ${mesh.bridge})` : 'not running (needs root; see --no-node)'}\n  kubeconfig: ${cp.kubeconfigPath}\n\nexport KUBECONFIG=${cp.kubeconfigPath}\n`,
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
  if (node) {
    const agent = await import('@sluice/agent');
    await node.close().catch((e) => logger.error({ err: String(e) }, 'node shutdown failed'));
    agent.removeNodeInfo(opts.dataDir);
  }
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
    .option('--no-node', 'do not run the node agent (workloads); the default runs it when root')
    .option('--mesh-name <name>', 'mesh name: bridge slbr-<name>, namespaces sl-<name>-<pod>', 'mesh')
    .option('--mesh-subnet <cidr>', 'the mesh bridge /24', '10.233.77.0/24')
    .option('--images <file>', 'image table mapping container images to local programs', DEFAULT_IMAGES)
    .addOption(
      new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  sluice up\n  sluice up --data-dir /var/lib/sluice --xds-listen 127.0.0.1:15010,10.233.77.1:15010\n  sluice up --store etcd --etcd-endpoints http://127.0.0.1:2379',
    )
    .action((opts: UpOptions) => runCommand(() => runUp(opts)));
}
