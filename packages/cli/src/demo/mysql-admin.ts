/**
 * The database side of the walkthrough, done from the host as the article's database admin does:
 * prepare-mysql (admin through MariaDB's unix socket) and the `mariadb` client over TCP to the
 * external address. The ratings password is read from the generated Secret file and handed to the
 * client through MYSQL_PWD, never on a command line or the terminal.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, tsxLoader } from '@sluice/agent';
import YAML from 'yaml';

export const PREPARE_MYSQL = path.join(repoRoot, 'samples', 'bookinfo', 'scripts', 'prepare-mysql.ts');

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: Record<string, string>): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { PATH: '/usr/bin:/bin', ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) || 1 : 0, stdout, stderr }),
    );
  });
}

/** Runs samples/bookinfo/scripts/prepare-mysql.ts with the admin socket; the Secret goes to `secretOut`. */
export function prepareMysql(socketPath: string, secretOut: string): Promise<CommandResult> {
  return run(process.execPath, ['--import', tsxLoader(), PREPARE_MYSQL, '--secret-out', secretOut], {
    MYSQL_ADMIN_SOCKET: socketPath,
  });
}

/** The ratings user and password from the Secret manifest prepare-mysql wrote. */
export function readSecretCredentials(secretFile: string): { user: string; password: string } {
  const doc = YAML.parse(readFileSync(secretFile, 'utf8')) as { stringData?: { user?: string; password?: string } };
  const user = doc?.stringData?.user;
  const password = doc?.stringData?.password;
  if (!user || !password) throw new Error(`${secretFile}: stringData.user and stringData.password are required`);
  return { user, password };
}

/** `mariadb -u <user> --host <host> --port <port> -e <sql>`, the password through MYSQL_PWD. */
export function mysqlAs(
  creds: { user: string; password: string },
  host: string,
  port: number,
  sql: string,
): Promise<CommandResult> {
  return run(
    '/usr/bin/mariadb',
    ['--no-defaults', '-u', creds.user, '--host', host, '--port', String(port), '--table', '-e', sql],
    { MYSQL_PWD: creds.password },
  );
}
