// Prepares an external MySQL/MariaDB for Bookinfo's ratings v2-mysql, as the "Consuming External TCP
// Services" task does by hand: database `test`, table `ratings`, a SELECT-only user `bookinfo`, and a
// Kubernetes Secret `mysql-credentials` with its generated password. `--cleanup` undoes it.
//   node --import tsx samples/bookinfo/scripts/prepare-mysql.ts --secret-out /tmp/mysql-credentials.yaml
import { parseArgs } from 'node:util';
import {
  adminConnectionFromEnv,
  cleanupRatingsDatabase,
  PrepareMysqlError,
  prepareRatingsDatabase,
} from '../src/mysql/ratings-database.js';

const USAGE = `usage: prepare-mysql --secret-out FILE [--seed-ratings N|none] [--user NAME] [--secret-name NAME] [--namespace NS]
       prepare-mysql --cleanup [--drop-db] [--user NAME]
Admin connection from env: MYSQL_ADMIN_HOST (127.0.0.1), MYSQL_ADMIN_PORT (3306), MYSQL_ADMIN_USER (root),
MYSQL_ADMIN_PASSWORD (empty), MYSQL_ADMIN_SOCKET (a Unix socket instead of host and port).`;

function fail(message: string, exitCode: number): never {
  console.error(`prepare-mysql: ${message}`);
  process.exit(exitCode);
}

async function main(): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        'secret-out': { type: 'string' },
        'seed-ratings': { type: 'string', default: '1' },
        user: { type: 'string', default: 'bookinfo' },
        'secret-name': { type: 'string', default: 'mysql-credentials' },
        namespace: { type: 'string' },
        cleanup: { type: 'boolean', default: false },
        'drop-db': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`, 2);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const admin = adminConnectionFromEnv(process.env);
  const user = String(values.user);
  if (values.cleanup) {
    await cleanupRatingsDatabase(admin, { user, dropDatabase: values['drop-db'] === true });
    console.log(`prepare-mysql: dropped user '${user}'@'%'${values['drop-db'] ? ' and database test' : ''}`);
    return;
  }
  if (values['drop-db']) fail(`--drop-db only goes with --cleanup\n${USAGE}`, 2);
  const secretOut = values['secret-out'];
  if (typeof secretOut !== 'string' || secretOut === '') {
    fail(`--secret-out FILE is required: the generated password is written only there\n${USAGE}`, 2);
  }
  const seedText = String(values['seed-ratings']);
  const seedRating = seedText === 'none' ? null : /^\d+$/.test(seedText) ? Number(seedText) : Number.NaN;
  const summary = await prepareRatingsDatabase(admin, {
    user,
    seedRating,
    secretOut,
    secretName: String(values['secret-name']),
    ...(typeof values.namespace === 'string' ? { namespace: values.namespace } : {}),
  });
  console.log(
    `prepare-mysql: database test, table ratings: ${summary.rows} rows, ratings ${summary.ratings.join(', ')}`,
  );
  console.log(`prepare-mysql: user ${summary.account} has a new password and may only SELECT on test.ratings`);
  console.log(
    `prepare-mysql: Secret ${String(values['secret-name'])} (keys user, password) written to ${summary.secretOut} (mode 0600)`,
  );
}

main().catch((err: unknown) => {
  if (err instanceof PrepareMysqlError)
    fail(`${err.message} [${err.code}]`, err.code === 'BOOKINFO_BAD_OPTION' ? 2 : 1);
  fail((err as Error).message, 1);
});
