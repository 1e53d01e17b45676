/**
 * Runs real kubectl (v1.20, unpacked by scripts/setup.sh into .cache/kubectl) the way a person
 * types it: a shell command line starting with `kubectl`, to which only `--kubeconfig <file>` is
 * added. HOME and KUBECACHEDIR point into the demo's data dir, so nothing outside it is touched.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@sluice/agent';

export const KUBECTL = path.join(repoRoot, '.cache', 'kubectl', 'usr', 'bin', 'kubectl');

export class KubectlMissingError extends Error {
  readonly code = 'KubectlMissing';
}

export interface KubectlResult {
  /** The command line as typed (without `--kubeconfig`). */
  command: string;
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlRunner {
  /** Runs `line` (which starts with `kubectl `) in bash, with `env` added. */
  (line: string, env?: Record<string, string>): Promise<KubectlResult>;
  readonly kubeconfig: string;
}

export function kubectlRunner(o: { kubeconfig: string; homeDir: string; cwd?: string }): KubectlRunner {
  if (!existsSync(KUBECTL)) {
    throw new KubectlMissingError(`kubectl 1.20 is not at ${KUBECTL}: run scripts/setup.sh first`);
  }
  mkdirSync(o.homeDir, { recursive: true });
  const run = (line: string, env: Record<string, string> = {}) =>
    new Promise<KubectlResult>((resolve) => {
      const withConfig = line.replace(/^kubectl /, `kubectl --kubeconfig ${o.kubeconfig} `);
      execFile(
        'bash',
        ['-c', withConfig],
        {
          cwd: o.cwd ?? repoRoot,
          env: {
            PATH: `${path.dirname(KUBECTL)}:/usr/local/bin:/usr/bin:/bin`,
            HOME: o.homeDir,
            KUBECACHEDIR: path.join(o.homeDir, 'kubecache'),
            ...env,
          },
          timeout: 60_000,
        },
        (err, stdout, stderr) =>
          resolve({
            command: line,
            code: err ? Number((err as { code?: number }).code ?? 1) || 1 : 0,
            stdout,
            stderr,
          }),
      );
    });
  return Object.assign(run, { kubeconfig: o.kubeconfig });
}
