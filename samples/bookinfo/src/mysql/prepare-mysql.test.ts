import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { readSecret, runPrepareMysql } from '../testing/mysql-fixture.js';

// Runs the script against the real MariaDB at 127.0.0.1:3306 as root, under an account name of its own.
async function asRoot<T>(work: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const connection = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  try {
    return await work(connection);
  } finally {
    await connection.end();
  }
}

async function canLogIn(user: string, password: string): Promise<boolean> {
  try {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user, password, database: 'test' });
    await c.end();
    return true;
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'ER_ACCESS_DENIED_ERROR');
    return false;
  }
}

describe('scripts/prepare-mysql.ts', () => {
  const user = `slt_bi_${randomBytes(4).toString('hex')}`;
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'slt-bi-'));
  });
  after(async () => {
    await asRoot((c) => c.query("DROP USER IF EXISTS ?@'%'", [user]));
    rmSync(dir, { recursive: true, force: true });
  });

  test('is idempotent: two runs leave the same table, a SELECT-only account and a fresh password', async () => {
    const secret = path.join(dir, 'mysql-credentials.yaml');
    const first = await runPrepareMysql(['--user', user, '--secret-out', secret]);
    assert.equal(first.code, 0, first.stderr);
    const firstCredentials = readSecret(secret);
    const second = await runPrepareMysql(['--user', user, '--secret-out', secret]);
    assert.equal(second.code, 0, second.stderr);
    const secondCredentials = readSecret(secret);

    assert.equal(secondCredentials.user, user);
    assert.notEqual(secondCredentials.password, firstCredentials.password);
    assert.ok(secondCredentials.password.length >= 24);
    assert.equal(await canLogIn(user, secondCredentials.password), true);
    assert.equal(await canLogIn(user, firstCredentials.password), false);

    for (const run of [first, second]) {
      for (const password of [firstCredentials.password, secondCredentials.password]) {
        assert.ok(!run.stdout.includes(password), 'stdout carries no password');
        assert.ok(!run.stderr.includes(password), 'stderr carries no password');
      }
      assert.match(run.stdout, /ratings 1, 1/);
      assert.match(run.stdout, new RegExp(`Secret mysql-credentials .* written to ${secret}`));
    }

    const [rows] = await asRoot((c) => c.query('SELECT ReviewID, Rating FROM test.ratings ORDER BY ReviewID'));
    assert.deepEqual(rows, [
      { ReviewID: 1, Rating: 1 },
      { ReviewID: 2, Rating: 1 },
    ]);
    const [grants] = await asRoot((c) => c.query("SHOW GRANTS FOR ?@'%'", [user]));
    const lines = (grants as Record<string, string>[]).map((g) => Object.values(g)[0] ?? '');
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0]!, /^GRANT USAGE ON \*\.\* TO/);
    assert.match(lines[1]!, /^GRANT SELECT ON `test`\.`ratings` TO/);
  });

  test('the Secret manifest is mode 0600 and names mysql-credentials with user and password', () => {
    const secret = path.join(dir, 'mysql-credentials.yaml');
    assert.equal(statSync(secret).mode & 0o777, 0o600);
    const text = readFileSync(secret, 'utf8');
    assert.match(
      text,
      /^apiVersion: v1\nkind: Secret\nmetadata:\n {2}name: mysql-credentials\ntype: Opaque\nstringData:\n/,
    );
    assert.deepEqual(Object.keys(readSecret(secret)), ['user', 'password']);
  });

  test('--secret-name and --namespace go into the manifest', async () => {
    const secret = path.join(dir, 'named.yaml');
    const run = await runPrepareMysql([
      '--user',
      user,
      '--secret-out',
      secret,
      '--secret-name',
      'ratings-db',
      '--namespace',
      'shop',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(readFileSync(secret, 'utf8'), /metadata:\n {2}name: ratings-db\n {2}namespace: shop\n/);
  });

  test('bad options are refused before anything changes', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--user', user, '--secret-out', path.join(dir, 'a.yaml'), '--seed-ratings', '9'], /--seed-ratings 9/],
      [['--user', "x'; DROP TABLE", '--secret-out', path.join(dir, 'b.yaml')], /--user/],
      [['--user', user], /--secret-out FILE is required/],
      [['--user', user, '--secret-out', path.join(dir, 'c.yaml'), '--drop-db'], /--drop-db only goes with --cleanup/],
      [['--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const run = await runPrepareMysql(args);
      assert.equal(run.code, 2, args.join(' '));
      assert.match(run.stderr, message);
    }
    assert.deepEqual(readdirSync(dir).sort(), ['mysql-credentials.yaml', 'named.yaml']);
  });

  test('an unreachable admin connection fails with exit 1 and leaves no Secret file', async () => {
    const secret = path.join(dir, 'unreachable.yaml');
    const run = await runPrepareMysql(['--user', user, '--secret-out', secret], { MYSQL_ADMIN_PORT: '1' });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /cannot connect as root to 127\.0\.0\.1:1/);
    assert.equal(existsSync(secret), false);
    assert.deepEqual(readdirSync(dir).sort(), ['mysql-credentials.yaml', 'named.yaml']);
  });

  test('--cleanup drops the account and is safe to repeat', async () => {
    for (let i = 0; i < 2; i++) {
      const run = await runPrepareMysql(['--cleanup', '--user', user]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`dropped user '${user}'@'%'`));
    }
    const [rows] = await asRoot((c) => c.query('SELECT User FROM mysql.user WHERE User = ?', [user]));
    assert.deepEqual(rows, []);
  });
});
