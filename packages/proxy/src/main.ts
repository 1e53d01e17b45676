/**
 * `sluice-proxy`: runs the sidecar proxy. In production the agent starts it as uid 1337 inside the
 * workload's network namespace (its upstream connections are exempt from capture by uid).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { stderrLogger } from './logger.js';
// biome-ignore lint/suspicious/noShadowRestrictedNames: the sidecar's public name is Proxy
import { Proxy } from './proxy.js';

const port = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`${name} must be a port number 0-65535`);
  return n;
};

const program = new Command('sluice-proxy')
  .description('Sluice sidecar proxy: an xDS client enforcing egress policy on captured connections')
  .option('--xds <host:port>', 'xDS (ADS) server of the control plane', '127.0.0.1:15010')
  .option('--node-id <id>', 'xDS node id (sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local)')
  .option('--node-metadata <json>', 'xDS node metadata as a JSON object', (v) => {
    try {
      const o = JSON.parse(v);
      if (!o || typeof o !== 'object' || Array.isArray(o)) throw new Error('not an object');
      return o as Record<string, unknown>;
    } catch (e) {
      throw new InvalidArgumentError(`--node-metadata must be a JSON object (${(e as Error).message})`);
    }
  })
  .option('--outbound-port <port>', 'outbound capture port', port('--outbound-port'), 15001)
  .option('--inbound-port <port>', 'inbound capture port', port('--inbound-port'), 15006)
  .option('--admin-port <port>', 'admin port (127.0.0.1)', port('--admin-port'), 15000)
  .option('--stats-port <port>', 'Prometheus port (127.0.0.1)', port('--stats-port'), 15090)
  .option('--snapshot-file <path>', 'persist the last good snapshot here and load it on start (fail static)')
  .option(
    '--log-format <format>',
    'access log format: json or text',
    (v) => {
      if (v !== 'json' && v !== 'text') throw new InvalidArgumentError('--log-format must be json or text');
      return v;
    },
    'json',
  )
  .option('--log-level <level>', 'operational log level (stderr)', 'info')
  .addOption(
    new Option('--xds-protocol <protocol>', 'xDS flavour: delta (incremental) or sotw (state of the world)')
      .choices(['delta', 'sotw'])
      .default('delta'),
  );

program.parse();
const o = program.opts();
const logger = stderrLogger(o['logLevel']);
const proxy = new Proxy({
  xds: o['xds'],
  xdsProtocol: o['xdsProtocol'],
  nodeId: o['nodeId'],
  nodeMetadata: o['nodeMetadata'],
  outboundPort: o['outboundPort'],
  inboundPort: o['inboundPort'],
  adminPort: o['adminPort'],
  statsPort: o['statsPort'],
  snapshotFile: o['snapshotFile'],
  logFormat: o['logFormat'],
  logger,
});

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping');
  proxy.destroy().then(() => process.exit(0));
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

proxy.start().catch((e) => {
  logger.error({ error: (e as Error).message }, 'cannot start the proxy');
  process.exit(1);
});
