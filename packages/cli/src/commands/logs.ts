/**
 * `sluice logs POD [-c CONTAINER]`: prints a pod's container log, or its sidecar's (`-c istio-proxy`),
 * from the node's log directory. `deploy/NAME` picks the first pod of a Deployment.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CliError, DEFAULT_DATA_DIR, runCommand } from '../client.js';

const SIDECAR_NAMES = new Set(['istio-proxy', 'sidecar', 'proxy']);

export function findPodDir(logDir: string, namespace: string, pod: string): string {
  const dirs = (() => {
    try {
      return readdirSync(logDir);
    } catch {
      throw new CliError(
        'BadArguments',
        `no pod logs under ${logDir} (is \`sluice up\` running with this --data-dir?)`,
      );
    }
  })();
  const deploy = pod.startsWith('deploy/') || pod.startsWith('deployment/') ? pod.split('/')[1] : undefined;
  const match = deploy
    ? dirs.filter((d) => d.startsWith(`${namespace}_${deploy}-`)).sort()[0]
    : dirs.find((d) => d === `${namespace}_${pod}`);
  if (!match) throw new CliError('BadArguments', `pod "${pod}" not found in namespace "${namespace}"`);
  return path.join(logDir, match);
}

export function register(program: Command): void {
  program
    .command('logs')
    .description("print a pod's container log, or its sidecar's access log with -c istio-proxy")
    .argument('<pod>', 'pod name, or deploy/NAME for the first pod of a Deployment')
    .option('-c, --container <name>', 'container name; istio-proxy (or sidecar) for the sidecar')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--tail <n>', 'only the last n lines')
    .option('--data-dir <dir>', 'data dir of the running `sluice up`', DEFAULT_DATA_DIR)
    .addHelpText(
      'after',
      `
Examples:
  sluice logs deploy/ratings-v2-mysql -c istio-proxy     # access log: blocked and allowed connections
  sluice logs productpage-v1-5b7c8d9e1-abcde
`,
    )
    .action((pod: string, opts: Record<string, string>) =>
      runCommand(async () => {
        const logDir = path.join(opts['dataDir'] as string, 'pods');
        const dir = findPodDir(logDir, opts['namespace'] as string, pod);
        let container = opts['container'];
        if (!container) {
          const apps = readdirSync(dir).filter((f) => f.endsWith('.log') && f !== 'sidecar.log');
          if (apps.length !== 1) {
            throw new CliError(
              'BadArguments',
              `pod has several containers; choose one with -c: ${apps.map((a) => a.slice(0, -4)).join(', ')}, istio-proxy`,
            );
          }
          container = (apps[0] as string).slice(0, -4);
        }
        const file = path.join(dir, SIDECAR_NAMES.has(container) ? 'sidecar.log' : `${container}.log`);
        try {
          statSync(file);
        } catch {
          throw new CliError('BadArguments', `container "${container}" not found in pod ${path.basename(dir)}`);
        }
        let text = readFileSync(file, 'utf8');
        if (opts['tail']) text = `${text.trimEnd().split('\n').slice(-Number(opts['tail'])).join('\n')}\n`;
        process.stdout.write(text);
      }),
    );
}
