/**
 * `sluice demo`: Istio's "Consuming External TCP Services" with Bookinfo on this machine — blocked,
 * allowed by a TCP ServiceEntry, blocked again — checking at each step that it shows what the
 * article says. Needs root (network namespaces, iptables). See docs/egress-tcp.md.
 */
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { type DemoLayout, demoLayout } from '../demo/layout.js';
import { removeDemoLeftovers } from '../demo/leftovers.js';
import { readRuntimeInfo, serveDemoRuntime } from '../demo/runtime-process.js';
import { runScenario } from '../demo/scenario.js';

export interface DemoOptions {
  step?: boolean;
  keep?: boolean;
  once?: boolean;
  down?: boolean;
  serve?: boolean;
  port: string;
  apiPort: string;
  xdsPort: string;
  dataDir: string;
}

export const DEFAULT_DEMO_DIR = path.join(os.homedir(), '.sluice', 'demo');

function port(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) {
    process.stderr.write(`sluice demo: ${flag} must be a port number 0-65535 (0 = any free port), got "${text}"\n`);
    process.exit(2);
  }
  return n;
}

const write = (text: string) => process.stdout.write(text);

async function waitForEnter(): Promise<void> {
  if (!process.stdin.isTTY && process.stdin.readableEnded) return;
  write('    (press Enter for the next step)');
  const rl = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => {
    rl.once('line', () => resolve());
    rl.once('close', () => resolve());
  });
  rl.close();
}

async function tearDown(layout: DemoLayout): Promise<void> {
  write('\nStopping the demo and removing everything it created...\n');
  await removeDemoLeftovers(layout);
  write('Done.\n');
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    process.stderr.write(
      'sluice demo needs root: it creates network namespaces, veths, a bridge and iptables rules.\n' +
        'Run it as root, e.g.: sudo npm run demo\n',
    );
    return 2;
  }
  const layout = demoLayout({
    dataDir: opts.dataDir,
    pagePort: port(opts.port, '--port'),
    apiPort: port(opts.apiPort, '--api-port'),
    xdsPort: port(opts.xdsPort, '--xds-port'),
  });
  if (opts.serve) {
    await serveDemoRuntime(layout);
    return 0;
  }
  if (opts.down) {
    const running = readRuntimeInfo(layout);
    await tearDown(layout);
    write(
      running ? 'The demo was running; it is stopped now.\n' : 'No demo was running; leftovers (if any) are removed.\n',
    );
    return 0;
  }

  let aborted = false;
  let interrupted: () => void = () => {};
  const interruptedP = new Promise<void>((resolve) => {
    interrupted = resolve;
  });
  const onSignal = () => {
    if (aborted) return;
    aborted = true;
    write('\nInterrupted.\n');
    interrupted();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  write('Sluice demo: Bookinfo with an external MySQL, as in Istio\'s "Consuming External TCP Services".\n');
  write(`Data dir: ${layout.dataDir}\n`);
  const { report, runtime } = await runScenario({
    layout,
    write,
    pause: opts.step ? waitForEnter : undefined,
    aborted: () => aborted,
  });
  write(`\n${report.summaryLine()}\n`);
  const exitCode = report.allOk && report.verdicts.length === report.total ? 0 : 1;

  if (aborted || opts.once || !runtime) {
    await tearDown(layout);
    return aborted ? 130 : exitCode;
  }
  write(`\nThe product page: ${runtime.pageBaseUrl}/productpage\n`);
  write(`kubectl:          .cache/kubectl/usr/bin/kubectl --kubeconfig ${runtime.kubeconfig} get pods\n`);
  if (opts.keep) {
    write('The demo keeps running in the background. Stop it with: sluice demo --down\n');
    return exitCode;
  }
  write('Everything keeps running until you press Ctrl-C.\n');
  await interruptedP;
  await tearDown(layout);
  return exitCode;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'the Bookinfo egress demo: MySQL outside the mesh, blocked, allowed by a TCP ServiceEntry, blocked again (needs root)',
    )
    .option('--step', 'pause for Enter between steps')
    .option('--keep', 'leave the demo running in the background and exit (stop it with --down)')
    .option('--once', 'run every step, clean up, exit 0 only if every step showed what it should')
    .option('--down', 'stop a demo left running with --keep and remove everything it created')
    .option('--port <port>', 'host port of the product page (127.0.0.1)', '9080')
    .option('--api-port <port>', 'API server port (127.0.0.1)', '15080')
    .option('--xds-port <port>', 'xDS port (127.0.0.1 and the mesh bridge)', '15010')
    .option('--data-dir <dir>', 'where the demo keeps its files', DEFAULT_DEMO_DIR)
    .option('--serve', '(internal) run the demo environment in this process')
    .addHelpText(
      'after',
      '\nExamples:\n  sudo npm run demo\n  sluice demo --step\n  sluice demo --keep && sluice demo --down\n',
    )
    .action(async (opts: DemoOptions) => {
      process.exit(await runDemo(opts));
    });
}
