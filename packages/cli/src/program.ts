/** The `sluice` command tree: one file per command in commands/, listed in commands/index.ts. */
import { Command } from 'commander';
import { registerCommands } from './commands/index.js';
import { SLUICE_VERSION } from './version.js';

export function buildProgram(): Command {
  const program = new Command('sluice')
    .description('Sluice: a service mesh whose first promise is egress control')
    .version(SLUICE_VERSION, '--version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', '\nExamples:\n  sluice analyze -f manifests/\n  sluice version\n  sluice <command> --help\n');
  registerCommands(program);
  return program;
}
