import { execFile } from 'node:child_process';
import { CommandFailedError } from '../errors.js';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs one external command (never through a shell) and resolves with its output. A non-zero exit
 * rejects with a `CommandFailedError` naming the command line and carrying its stderr.
 */
export function runCommand(command: string, args: readonly string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const exitCode = typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null;
        reject(new CommandFailedError(command, args, exitCode, stderr, err));
        return;
      }
      resolve({ stdout, stderr });
    });
    child.stdin?.on('error', () => {
      // the command exited before reading its input; the exit status reports the failure
    });
    child.stdin?.end(input ?? '');
  });
}

/** `ip <args>` */
export function ip(...args: string[]): Promise<CommandResult> {
  return runCommand('ip', args);
}

/** Runs a command inside a named network namespace as root (`ip netns exec`). */
export function inNetns(
  netns: string,
  command: string,
  args: readonly string[],
  input?: string,
): Promise<CommandResult> {
  return runCommand('ip', ['netns', 'exec', netns, command, ...args], input);
}
