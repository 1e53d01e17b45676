import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { CaptureOptionsError } from '../errors.js';

/** How to run a process in a host's namespace. */
export interface ExecOptions {
  /** uid to run as (default 1000). 0 runs as root, without dropping privileges. */
  uid?: number;
  /** gid to run as (default: same as uid). */
  gid?: number;
  /** Environment; replaces the caller's. A missing PATH gets the standard one. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdio?: StdioOptions;
}

const STANDARD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Starts `argv` inside network namespace `netns` through `ip netns exec` (so `/etc/netns/<netns>/*`
 * files such as resolv.conf apply), then `setpriv` to drop to `uid`/`gid` with no supplementary groups,
 * no capabilities and `no_new_privs`. `ip` and `setpriv` both exec, so the returned child's pid is the
 * workload's own pid.
 */
export function execInNetns(netns: string, argv: readonly string[], options: ExecOptions = {}): ChildProcess {
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string')) {
    throw new CaptureOptionsError('argv', 'must be a non-empty list of strings (program first)');
  }
  const uid = options.uid ?? 1000;
  const gid = options.gid ?? uid;
  for (const [field, id] of [
    ['uid', uid],
    ['gid', gid],
  ] as const) {
    if (!Number.isInteger(id) || id < 0 || id > 0xfffffffe) {
      throw new CaptureOptionsError(field, `must be an integer id 0-4294967294, got ${JSON.stringify(id)}`);
    }
  }
  const env = { ...(options.env ?? process.env) };
  env.PATH ??= STANDARD_PATH;
  const drop =
    uid === 0 && gid === 0
      ? []
      : ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--inh-caps=-all', '--no-new-privs', '--'];
  const spawnOptions: Parameters<typeof spawn>[2] = { env, stdio: options.stdio ?? 'pipe' };
  if (options.cwd !== undefined) spawnOptions.cwd = options.cwd;
  return spawn('ip', ['netns', 'exec', netns, ...drop, ...argv], spawnOptions);
}
