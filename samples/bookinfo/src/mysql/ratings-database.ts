import { randomBytes } from 'node:crypto';
import { chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';

/** How to reach the MySQL/MariaDB server as an administrator. */
export interface AdminConnection {
  host: string;
  port: number;
  user: string;
  password: string;
  /** A Unix socket; when set, host and port are not used. */
  socketPath?: string;
}

export class PrepareMysqlError extends Error {
  constructor(
    readonly code: 'BOOKINFO_BAD_OPTION' | 'BOOKINFO_MYSQL_FAILED' | 'BOOKINFO_SECRET_WRITE_FAILED',
    message: string,
  ) {
    super(message);
  }
}

/** MYSQL_ADMIN_HOST (127.0.0.1), MYSQL_ADMIN_PORT (3306), MYSQL_ADMIN_USER (root), MYSQL_ADMIN_PASSWORD (''), MYSQL_ADMIN_SOCKET. */
export function adminConnectionFromEnv(env: NodeJS.ProcessEnv): AdminConnection {
  const portText = env.MYSQL_ADMIN_PORT ?? '3306';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new PrepareMysqlError(
      'BOOKINFO_BAD_OPTION',
      `MYSQL_ADMIN_PORT ${JSON.stringify(portText)}: must be a port number 1-65535`,
    );
  }
  const admin: AdminConnection = {
    host: env.MYSQL_ADMIN_HOST ?? '127.0.0.1',
    port,
    user: env.MYSQL_ADMIN_USER ?? 'root',
    password: env.MYSQL_ADMIN_PASSWORD ?? '',
  };
  if (env.MYSQL_ADMIN_SOCKET) admin.socketPath = env.MYSQL_ADMIN_SOCKET;
  return admin;
}

export interface PrepareOptions {
  /** The least-privilege account ratings uses, created as `'<user>'@'%'`. */
  user: string;
  /** Every rating is set to this after seeding (the visual clue of the egress task); null keeps 5 and 4. */
  seedRating: number | null;
  /** Where the Kubernetes Secret manifest with the credentials is written (mode 0600). */
  secretOut: string;
  secretName: string;
  namespace?: string;
}

export interface PrepareSummary {
  rows: number;
  ratings: number[];
  account: string;
  secretOut: string;
}

const USER_NAME = /^[A-Za-z0-9_]{1,32}$/;
const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function validatePrepareOptions(options: PrepareOptions): void {
  if (!USER_NAME.test(options.user)) {
    throw new PrepareMysqlError(
      'BOOKINFO_BAD_OPTION',
      `--user ${JSON.stringify(options.user)}: use 1-32 letters, digits or _`,
    );
  }
  if (
    options.seedRating !== null &&
    (!Number.isInteger(options.seedRating) || options.seedRating < 0 || options.seedRating > 5)
  ) {
    throw new PrepareMysqlError(
      'BOOKINFO_BAD_OPTION',
      `--seed-ratings ${options.seedRating}: must be an integer 0-5 or "none"`,
    );
  }
  if (!SECRET_NAME.test(options.secretName)) {
    throw new PrepareMysqlError(
      'BOOKINFO_BAD_OPTION',
      `--secret-name ${JSON.stringify(options.secretName)}: not a valid Kubernetes object name`,
    );
  }
  if (options.namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(options.namespace)) {
    throw new PrepareMysqlError(
      'BOOKINFO_BAD_OPTION',
      `--namespace ${JSON.stringify(options.namespace)}: not a valid namespace name`,
    );
  }
}

/** A Kubernetes Secret manifest holding the ratings credentials under `user` and `password`. */
export function secretManifest(name: string, namespace: string | undefined, user: string, password: string): string {
  const lines = ['apiVersion: v1', 'kind: Secret', 'metadata:', `  name: ${name}`];
  if (namespace !== undefined) lines.push(`  namespace: ${namespace}`);
  lines.push(
    'type: Opaque',
    'stringData:',
    `  user: ${JSON.stringify(user)}`,
    `  password: ${JSON.stringify(password)}`,
    '',
  );
  return lines.join('\n');
}

async function connectAdmin(admin: AdminConnection): Promise<mysql.Connection> {
  const where = admin.socketPath ?? `${admin.host}:${admin.port}`;
  try {
    return await mysql.createConnection({
      ...(admin.socketPath ? { socketPath: admin.socketPath } : { host: admin.host, port: admin.port }),
      user: admin.user,
      password: admin.password,
      connectTimeout: 10_000,
    });
  } catch (err) {
    throw new PrepareMysqlError(
      'BOOKINFO_MYSQL_FAILED',
      `cannot connect as ${admin.user} to ${where}: ${(err as Error).message}`,
    );
  }
}

/** Error text that can never carry the secret (drivers may quote the failing statement). */
function scrub(err: unknown, secret: string): string {
  return String((err as Error).message ?? err).replaceAll(secret, '***');
}

/**
 * Creates (or brings back to the expected state) database `test`, table `ratings` with rows (1,5),(2,4)
 * then every Rating set to `seedRating`; creates or resets `'<user>'@'%'` with a new random password
 * and SELECT on test.ratings only; writes the Secret manifest. The password is never returned or logged.
 */
export async function prepareRatingsDatabase(admin: AdminConnection, options: PrepareOptions): Promise<PrepareSummary> {
  validatePrepareOptions(options);
  const password = randomBytes(24).toString('base64url');
  const secretOut = path.resolve(options.secretOut);
  const staging = `${secretOut}.${process.pid}.tmp`;
  try {
    writeFileSync(staging, secretManifest(options.secretName, options.namespace, options.user, password), {
      mode: 0o600,
    });
    chmodSync(staging, 0o600);
  } catch (err) {
    rmSync(staging, { force: true });
    throw new PrepareMysqlError('BOOKINFO_SECRET_WRITE_FAILED', `cannot write ${secretOut}: ${(err as Error).message}`);
  }
  const connection = await connectAdmin(admin).catch((err: unknown) => {
    rmSync(staging, { force: true });
    throw err;
  });
  try {
    await connection.query('CREATE DATABASE IF NOT EXISTS test');
    await connection.query(
      'CREATE TABLE IF NOT EXISTS test.ratings (ReviewID INT NOT NULL, Rating INT, PRIMARY KEY (ReviewID))',
    );
    // One transaction, so a reader never sees the seed values between the insert and the update.
    await connection.beginTransaction();
    await connection.query(
      'INSERT INTO test.ratings (ReviewID, Rating) VALUES (1, 5), (2, 4) ON DUPLICATE KEY UPDATE Rating = VALUES(Rating)',
    );
    if (options.seedRating !== null) await connection.query('UPDATE test.ratings SET Rating = ?', [options.seedRating]);
    await connection.commit();
    await connection.query("CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?", [options.user, password]);
    await connection.query("ALTER USER ?@'%' IDENTIFIED BY ?", [options.user, password]);
    await connection.query("REVOKE ALL PRIVILEGES, GRANT OPTION FROM ?@'%'", [options.user]);
    await connection.query("GRANT SELECT ON test.ratings TO ?@'%'", [options.user]);
    const [rows] = await connection.query('SELECT Rating FROM test.ratings ORDER BY ReviewID');
    renameSync(staging, secretOut);
    const ratings = (rows as Array<{ Rating: number }>).map((row) => row.Rating);
    return { rows: ratings.length, ratings, account: `'${options.user}'@'%'`, secretOut };
  } catch (err) {
    rmSync(staging, { force: true });
    if (err instanceof PrepareMysqlError) throw err;
    throw new PrepareMysqlError('BOOKINFO_MYSQL_FAILED', scrub(err, password));
  } finally {
    await connection.end().catch(() => undefined);
  }
}

export interface CleanupOptions {
  user: string;
  dropDatabase: boolean;
}

/** Drops `'<user>'@'%'` and, when asked, database `test`. Missing objects are not an error. */
export async function cleanupRatingsDatabase(admin: AdminConnection, options: CleanupOptions): Promise<void> {
  if (!USER_NAME.test(options.user)) {
    throw new PrepareMysqlError(
      'BOOKINFO_BAD_OPTION',
      `--user ${JSON.stringify(options.user)}: use 1-32 letters, digits or _`,
    );
  }
  const connection = await connectAdmin(admin);
  try {
    await connection.query("DROP USER IF EXISTS ?@'%'", [options.user]);
    if (options.dropDatabase) await connection.query('DROP DATABASE IF EXISTS test');
  } catch (err) {
    throw new PrepareMysqlError('BOOKINFO_MYSQL_FAILED', (err as Error).message);
  } finally {
    await connection.end().catch(() => undefined);
  }
}
