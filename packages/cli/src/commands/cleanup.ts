/**
 * `sluice cleanup`: removes what Sluice left on this machine after a crash — network namespaces
 * (and processes still in them), veths, bridges, /etc/netns entries — found by their name prefixes.
 */
import type { Command } from 'commander';
import { CliError, runCommand } from '../client.js';

export function register(program: Command): void {
  program
    .command('cleanup')
    .description('remove leftover Sluice namespaces, veths and bridges (found by name prefix)')
    .option('--prefix <prefix>', 'one prefix for namespaces, bridges and veths (default: sl-, slbr-, slv)')
    .addHelpText('after', '\nExamples:\n  sluice cleanup\n  sluice cleanup --prefix slt-\n')
    .action((opts: { prefix?: string }) =>
      runCommand(async () => {
        if (process.getuid?.() !== 0) throw new CliError('BadArguments', 'sluice cleanup needs root');
        const { cleanup } = await import('@sluice/capture');
        const r = await cleanup(opts.prefix ? { prefix: opts.prefix } : {});
        const lines = [
          ...r.namespaces.map((n) => `namespace ${n} removed`),
          ...r.killedPids.map((p) => `process ${p} killed`),
          ...r.veths.map((v) => `veth ${v} removed`),
          ...r.bridges.map((b) => `bridge ${b} removed`),
          ...r.netnsDirs.map((d) => `/etc/netns/${d} removed`),
        ];
        process.stdout.write(lines.length ? `${lines.join('\n')}\n` : 'nothing to clean up\n');
      }),
    );
}
