/** `sluice kubeconfig [--data-dir D] [--print]`: where the control plane's kubeconfig is, for kubectl. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CliError, DEFAULT_DATA_DIR, runCommand } from '../client.js';

export function register(program: Command): void {
  program
    .command('kubeconfig')
    .description('print how to point kubectl at the control plane (or the kubeconfig itself with --print)')
    .option('--data-dir <dir>', 'the control plane data directory', DEFAULT_DATA_DIR)
    .option('--print', 'print the kubeconfig (it contains the bearer token: keep it private)')
    .action((opts: { dataDir: string; print?: boolean }) =>
      runCommand(async () => {
        const path = join(opts.dataDir, 'kubeconfig');
        let text: string;
        try {
          text = readFileSync(path, 'utf8');
        } catch {
          throw new CliError(
            'NoKubeconfig',
            `no kubeconfig at ${path}: start the control plane with "sluice up --data-dir ${opts.dataDir}"`,
          );
        }
        process.stdout.write(opts.print ? text : `export KUBECONFIG=${path}\n`);
      }),
    );
}
