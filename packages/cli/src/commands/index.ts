/** Every sluice command, registered in this order. Add a command: one file in this folder, one line here. */
import type { Command } from 'commander';
import * as analyze from './analyze.js';
import * as apply from './apply.js';
import * as cleanup from './cleanup.js';
import * as deleteCommand from './delete.js';
import * as demo from './demo.js';
import * as describe from './describe.js';
import * as get from './get.js';
import * as kubeconfig from './kubeconfig.js';
import * as logs from './logs.js';
import * as proxyConfig from './proxy-config.js';
import * as proxyStatus from './proxy-status.js';
import * as run from './run.js';
import * as up from './up.js';
import * as version from './version.js';

const COMMANDS: { register(program: Command): void }[] = [
  up,
  apply,
  get,
  describe,
  deleteCommand,
  kubeconfig,
  analyze,
  proxyStatus,
  proxyConfig,
  run,
  logs,
  cleanup,
  version,
  demo,
];

export function registerCommands(program: Command): void {
  for (const command of COMMANDS) command.register(program);
}
