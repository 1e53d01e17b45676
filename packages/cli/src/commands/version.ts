/** `sluice version`: the CLI version and the Node.js running it. */
import type { Command } from 'commander';
import { SLUICE_VERSION } from '../version.js';

export function register(program: Command): void {
  program
    .command('version')
    .description('print the sluice version')
    .option('-o, --output <format>', 'text or json', 'text')
    .addHelpText('after', '\nExamples:\n  sluice version\n  sluice version -o json\n')
    .action((opts: { output: string }) => {
      if (opts.output === 'json') {
        process.stdout.write(`${JSON.stringify({ version: SLUICE_VERSION, node: process.version })}\n`);
      } else {
        process.stdout.write(`sluice ${SLUICE_VERSION} (node ${process.version})\n`);
      }
    });
}
