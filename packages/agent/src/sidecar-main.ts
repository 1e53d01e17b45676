/**
 * The sidecar process of a Sluice workload: the proxy (packages/proxy) plus the DNS answerer
 * (packages/capture) it logs host names from, and the health endpoint the agent waits on
 * (Istio's :15021/healthz/ready). The agent starts it as uid 1337 inside the workload's namespace.
 */
import http from 'node:http';
import { DnsAnswerer } from '@sluice/capture';
import { Proxy as SidecarProxy } from '@sluice/proxy';
import { Command, InvalidArgumentError, Option } from 'commander';

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number 0-65535');
  return n;
};

const program = new Command('sluice-sidecar')
  .description('Sluice sidecar: egress-enforcing proxy, DNS answerer and health endpoint for one workload')
  .requiredOption('--xds <host:port>', 'xDS (ADS) server of the control plane')
  .requiredOption('--node-id <id>', 'xDS node id (sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local)')
  .option(
    '--node-metadata <json>',
    'xDS node metadata as a JSON object',
    (v) => JSON.parse(v) as Record<string, unknown>,
    {},
  )
  .option('--namespace <ns>', 'Kubernetes namespace of the workload (DNS search scope)', 'default')
  .option('--snapshot-file <path>', 'persist the last good snapshot here (fail static)')
  .option('--dns-port <port>', 'DNS answerer port (127.0.0.1)', port, 15053)
  .option('--health-port <port>', 'health port (all addresses)', port, 15021)
  .option('--log-format <format>', 'access log format: json or text', 'json')
  .addOption(
    new Option('--xds-protocol <protocol>', 'xDS flavour: delta (incremental) or sotw (state of the world)')
      .choices(['delta', 'sotw'])
      .default('delta'),
  );

program.parse();
const o = program.opts();

const dns = new DnsAnswerer({ host: '127.0.0.1', port: o['dnsPort'], namespace: o['namespace'] });
const proxy = new SidecarProxy({
  xds: o['xds'],
  xdsProtocol: o['xdsProtocol'],
  nodeId: o['nodeId'],
  nodeMetadata: o['nodeMetadata'],
  snapshotFile: o['snapshotFile'],
  logFormat: o['logFormat'],
  nameForIp: (ip) => dns.nameForIp(ip),
  onNameTable: (table) => dns.setNameTable(table as Parameters<DnsAnswerer['setNameTable']>[0]),
});

const health = http.createServer((req, res) => {
  if (req.url === '/healthz/ready') {
    const ready = proxy.snapshot !== undefined;
    res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(ready ? 'ready\n' : 'no configuration received yet\n');
    return;
  }
  res.writeHead(404).end();
});

async function main(): Promise<void> {
  await dns.listen();
  await proxy.start();
  await new Promise<void>((resolve) => health.listen(o['healthPort'], '0.0.0.0', resolve));
}

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  health.close();
  await Promise.allSettled([proxy.close(), dns.close()]);
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

main().catch((e) => {
  process.stderr.write(`sidecar failed to start: ${(e as Error).message}\n`);
  process.exit(1);
});
