import type { ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { ExternalMysqlError } from '../errors.js';
import { runCommand } from '../hosts/command.js';
import type { TestHost } from '../hosts/test-host.js';

export interface ExternalMysqlOptions {
  /** The test host (outside the mesh) whose namespace and address the server uses. */
  host: TestHost;
  /** Directory for the instance (`db/` and `run/` are made inside); every parent must be traversable by `mysql`. */
  dataDir: string;
  /** Default 3306. */
  port?: number;
  /** How long to wait for the first TCP handshake (default 30 s). */
  readyTimeoutMs?: number;
}

/** A running MariaDB instance inside a test host. `stop()` is idempotent. */
export interface ExternalMysql {
  /** The test host's address, where clients connect (root over TCP is refused; create users first). */
  readonly host: string;
  readonly port: number;
  /** Unix socket for administration as root from the host namespace. */
  readonly socketPath: string;
  readonly pid: number;
  /** Runs SQL as root through the unix socket; resolves with the tab-separated output. */
  query(sql: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts a dedicated MariaDB (mariadb-install-db + mariadbd, `--no-defaults`, `--user=mysql`) bound to
 * the test host's address inside its namespace. Ready once a TCP connection from the host namespace,
 * over the mesh bridge, receives the server's greeting (mariadbd binds with IP_FREEBIND, so a wrong
 * address would start "fine": only a real connection proves it).
 */
export async function startExternalMysql(options: ExternalMysqlOptions): Promise<ExternalMysql> {
  const port = options.port ?? 3306;
  const dataDir = path.resolve(options.dataDir);
  const dbDir = path.join(dataDir, 'db');
  const runDir = path.join(dataDir, 'run');
  const socketPath = path.join(runDir, 'mariadb.sock');
  const errorLog = path.join(runDir, 'mariadb.err');
  await mkdir(dbDir, { recursive: true });
  await mkdir(runDir, { recursive: true });
  await chmod(dataDir, 0o755);
  await checkTraversable(dataDir);
  const { uid, gid } = await mysqlUser();
  await chown(dbDir, uid, gid);
  await chown(runDir, uid, gid);
  const installed = await stat(path.join(dbDir, 'mysql')).then(
    () => true,
    () => false,
  );
  if (!installed) {
    await runCommand('mariadb-install-db', [
      '--no-defaults',
      '--user=mysql',
      `--datadir=${dbDir}`,
      '--skip-test-db',
      '--auth-root-authentication-method=socket',
    ]).catch((err) => {
      throw new ExternalMysqlError(`mariadb-install-db failed for ${dbDir}: ${(err as Error).message}`, err);
    });
  }
  const server: ChildProcess = options.host.exec(
    [
      '/usr/sbin/mariadbd',
      '--no-defaults',
      '--user=mysql',
      `--datadir=${dbDir}`,
      `--bind-address=${options.host.ip}`,
      `--port=${port}`,
      '--skip-networking=0',
      '--skip-name-resolve',
      `--socket=${socketPath}`,
      `--pid-file=${path.join(runDir, 'mariadb.pid')}`,
      `--log-error=${errorLog}`,
    ],
    { uid: 0, stdio: 'ignore' },
  );
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    server.once('exit', () => {
      exited = true;
      resolve();
    });
    server.once('error', () => {
      exited = true;
      resolve();
    });
  });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (exited) return;
      server.kill('SIGTERM');
      const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    })();
    return stopping;
  };
  try {
    await waitForGreeting(options.host.ip, port, options.readyTimeoutMs ?? 30_000, () => exited);
  } catch (err) {
    await stop();
    const log = await readFile(errorLog, 'utf8').catch(() => '');
    throw new ExternalMysqlError(
      `MariaDB in ${options.host.netns} did not accept connections on ${options.host.ip}:${port}: ${(err as Error).message}` +
        (log ? `\nlast lines of ${errorLog}:\n${log.trim().split('\n').slice(-5).join('\n')}` : ''),
      err,
    );
  }
  return Object.freeze({
    host: options.host.ip,
    port,
    socketPath,
    pid: server.pid ?? -1,
    query: async (sql: string) =>
      (await runCommand('mariadb', ['--no-defaults', `--socket=${socketPath}`, '-uroot', '--batch', '-e', sql])).stdout,
    stop,
  });
}

async function mysqlUser(): Promise<{ uid: number; gid: number }> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  const line = passwd.split('\n').find((l) => l.startsWith('mysql:'));
  const fields = line?.split(':');
  if (!fields || fields.length < 4) {
    throw new ExternalMysqlError('there is no "mysql" user: install mariadb-server (apt-get install mariadb-server)');
  }
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

/** mariadbd runs as `mysql`: every directory above the data dir must let others pass (x bit). */
async function checkTraversable(dir: string): Promise<void> {
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    const info = await stat(current);
    if ((info.mode & 0o001) === 0) {
      throw new ExternalMysqlError(
        `${current} is not traversable by the mysql user (needs o+x); choose a dataDir elsewhere`,
      );
    }
    if (current === path.dirname(current)) return;
  }
}

function waitForGreeting(host: string, port: number, timeoutMs: number, hasExited: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (hasExited()) return reject(new Error('mariadbd exited'));
      if (Date.now() > deadline) return reject(new Error(`no greeting within ${timeoutMs} ms`));
      const socket = net.connect({ host, port });
      socket.setTimeout(1000, () => socket.destroy());
      socket.once('data', (chunk: Buffer) => {
        socket.destroy();
        // a server greeting (protocol 10) or, for a host without users yet, error packet 0xff
        // ("host is not allowed to connect"): either way a live server answered on that address
        if (chunk.length > 4 && (chunk[4] === 10 || chunk[4] === 0xff)) resolve();
        else setTimeout(attempt, 100);
      });
      socket.once('error', () => setTimeout(attempt, 100));
      socket.once('close', () => undefined);
    };
    attempt();
  });
}
