import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './bookinfo-process.js';

const run = promisify(execFile);
const SCRIPT = path.join(REPO_ROOT, 'samples/bookinfo/scripts/prepare-mysql.ts');

/** The outcome of one prepare-mysql run. */
export interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs scripts/prepare-mysql.ts with the given arguments against the MariaDB at 127.0.0.1:3306. */
export async function runPrepareMysql(args: string[], env: Record<string, string> = {}): Promise<ScriptRun> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Reads `stringData.user` and `stringData.password` back from a Secret written by prepare-mysql. */
export function readSecret(file: string): { user: string; password: string } {
  const text = readFileSync(file, 'utf8');
  const user = /^ {2}user: (".*")$/m.exec(text)?.[1];
  const password = /^ {2}password: (".*")$/m.exec(text)?.[1];
  if (user === undefined || password === undefined) throw new Error(`${file}: no stringData user/password`);
  return { user: JSON.parse(user) as string, password: JSON.parse(password) as string };
}

/** A prepared ratings database with an account of its own (`slt_bi_<hex>`), removed by `cleanup()`. */
export interface PreparedDatabase {
  user: string;
  password: string;
  secretFile: string;
  run: ScriptRun;
  cleanup(): Promise<void>;
}

/**
 * Prepares database `test` with prepare-mysql under a per-test account name, so concurrent runs never
 * reset each other's password. The account is the script's `bookinfo` user under another name.
 */
export async function prepareDatabase(): Promise<PreparedDatabase> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slt-bi-'));
  const user = `slt_bi_${randomBytes(4).toString('hex')}`;
  const secretFile = path.join(dir, 'mysql-credentials.yaml');
  const result = await runPrepareMysql(['--user', user, '--secret-out', secretFile]);
  const cleanup = async () => {
    await runPrepareMysql(['--cleanup', '--user', user]);
    rmSync(dir, { recursive: true, force: true });
  };
  if (result.code !== 0) {
    await cleanup();
    throw new Error(`prepare-mysql failed (${result.code}):\n${result.stdout}${result.stderr}`);
  }
  return { secretFile, run: result, cleanup, ...readSecret(secretFile) };
}
