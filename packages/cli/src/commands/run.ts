/**
 * `sluice run NAME -- CMD...`: runs one command as an ad-hoc workload in the mesh (like
 * `kubectl run --rm -i`): its own network namespace with capture, its own sidecar, the command as
 * an unprivileged uid; everything is removed when it exits. Its exit code becomes sluice's.
 */
import type { Command } from 'commander';
import { CliError, DEFAULT_DATA_DIR, runCommand } from '../client.js';

function parseLabels(text: string | undefined, name: string): Record<string, string> {
  if (!text) return { run: name };
  const labels: Record<string, string> = {};
  for (const part of text.split(',')) {
    const [k, v, ...rest] = part.split('=');
    if (!k || v === undefined || rest.length)
      throw new CliError('BadArguments', `--labels: "${part}" is not key=value`);
    labels[k.trim()] = v.trim();
  }
  return labels;
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run a command as an ad-hoc workload in the mesh (needs root and a running `sluice up`)')
    .argument('<name>', 'workload name (becomes the pod name)')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('-n, --namespace <ns>', 'Kubernetes namespace of the workload', 'default')
    .option('-l, --labels <k=v,...>', 'workload labels (default run=<name>)')
    .option('--uid <uid>', 'uid of the command (never 0 or 1337)', '1000')
    .option('--show-proxy-log', 'print the sidecar access log to stderr after the command')
    .option('--data-dir <dir>', 'data dir of the running `sluice up`', DEFAULT_DATA_DIR)
    .addHelpText(
      'after',
      `
Examples:
  sluice run probe -- mariadb -h 10.233.77.250 -u bookinfo -p -e 'select * from test.ratings'
  sluice run curl -l app=sleep --show-proxy-log -- curl -sS http://productpage:9080/health
  sluice run redis -- redis-cli -h 10.233.77.1 PING
`,
    )
    .action((name: string, command: string[], opts: Record<string, string | boolean>) =>
      runCommand(async () => {
        if (process.getuid?.() !== 0)
          throw new CliError('BadArguments', 'sluice run needs root (network namespaces and iptables)');
        const { readNodeInfo, freeAdHocIp, runOnce } = await import('@sluice/agent');
        const info = readNodeInfo(String(opts['dataDir']));
        const uid = Number(opts['uid']);
        if (!Number.isInteger(uid) || uid <= 0 || uid === 1337) {
          throw new CliError(
            'BadArguments',
            `--uid ${opts['uid']} is refused: a workload may not run as root or as the sidecar's uid 1337`,
          );
        }
        const r = await runOnce({
          mesh: info.mesh,
          xds: `${info.mesh.gateway}:${info.xdsPort}`,
          name,
          namespace: String(opts['namespace']),
          labels: parseLabels(opts['labels'] as string | undefined, name),
          ip: freeAdHocIp(info.mesh),
          argv: command,
          uid,
          stdout: process.stdout,
          stderr: process.stderr,
        });
        if (opts['showProxyLog']) {
          const lines = r.sidecarLog.split('\n').filter((l) => l.includes('"start_time"'));
          process.stderr.write(`--- sidecar access log (${lines.length} connection(s)) ---\n${lines.join('\n')}\n`);
        }
        process.exitCode = r.exitCode ?? 1;
      }),
    );
}
