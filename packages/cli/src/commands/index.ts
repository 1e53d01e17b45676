/** Every sluice command, registered in this order. Add a command: one file in this folder, one line here. */
import type { Command } from 'commander';
import * as analyze from './analyze.js';
import * as version from './version.js';

const COMMANDS: { register(program: Command): void }[] = [analyze, version];

export function registerCommands(program: Command): void {
  for (const command of COMMANDS) command.register(program);
}
