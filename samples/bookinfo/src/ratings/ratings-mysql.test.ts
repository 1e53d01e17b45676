import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { type RunningService, startService } from '../testing/bookinfo-process.js';
import { closedPort } from '../testing/capture-server.js';
import { count, request } from '../testing/http-client.js';
import { type PreparedDatabase, prepareDatabase } from '../testing/mysql-fixture.js';

// Against the real MariaDB at 127.0.0.1:3306, prepared by scripts/prepare-mysql.ts (ratings set to 1).
const UNAVAILABLE = { error: 'Ratings service is currently unavailable' };

describe('ratings v2 with MySQL, and the pages built on it', () => {
  let db: PreparedDatabase;
  let noSelectUser: string;
  const running: RunningService[] = [];
  let ratings: RunningService;
  let ratingsClosedPort: RunningService;
  let ratingsBadPassword: RunningService;
  let ratingsNoSelect: RunningService;
  let reviewsOk: RunningService;
  let reviewsBlocked: RunningService;
  let pageOk: RunningService;
  let pageBlocked: RunningService;

  before(async () => {
    db = await prepareDatabase();
    // An account that may connect to `test` but not read the Rating column: the select itself fails.
    noSelectUser = `slt_bi_${randomBytes(4).toString('hex')}`;
    const root = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
    try {
      await root.query("CREATE USER ?@'%' IDENTIFIED BY 'slt-bi-no-select'", [noSelectUser]);
      await root.query("GRANT SELECT (ReviewID) ON test.ratings TO ?@'%'", [noSelectUser]);
    } finally {
      await root.end();
    }
    const mysqlEnv = (overrides: Record<string, string>) => ({
      SERVICE_VERSION: 'v2',
      DB_TYPE: 'mysql',
      MYSQL_DB_HOST: '127.0.0.1',
      MYSQL_DB_PORT: '3306',
      MYSQL_DB_USER: db.user,
      MYSQL_DB_PASSWORD: db.password,
      ...overrides,
    });
    const started = await Promise.all([
      startService('ratings', mysqlEnv({})),
      startService('ratings', mysqlEnv({ MYSQL_DB_PORT: String(await closedPort()) })),
      startService('ratings', mysqlEnv({ MYSQL_DB_PASSWORD: 'not-the-password' })),
      startService('ratings', mysqlEnv({ MYSQL_DB_USER: noSelectUser, MYSQL_DB_PASSWORD: 'slt-bi-no-select' })),
      startService('details'),
    ]);
    running.push(...started);
    const [details] = started.splice(4, 1) as [RunningService];
    [ratings, ratingsClosedPort, ratingsBadPassword, ratingsNoSelect] = started;
    const v3 = (target: RunningService) =>
      startService('reviews', {
        ENABLE_RATINGS: 'true',
        STAR_COLOR: 'red',
        RATINGS_HOSTNAME: '127.0.0.1',
        RATINGS_SERVICE_PORT: String(target.port),
      });
    [reviewsOk, reviewsBlocked] = await Promise.all([v3(ratings), v3(ratingsClosedPort)]);
    running.push(reviewsOk, reviewsBlocked);
    const page = (reviews: RunningService, ratingsService: RunningService) =>
      startService('productpage', {
        DETAILS_HOSTNAME: '127.0.0.1',
        DETAILS_SERVICE_PORT: String(details.port),
        REVIEWS_HOSTNAME: '127.0.0.1',
        REVIEWS_SERVICE_PORT: String(reviews.port),
        RATINGS_HOSTNAME: '127.0.0.1',
        RATINGS_SERVICE_PORT: String(ratingsService.port),
      });
    [pageOk, pageBlocked] = await Promise.all([page(reviewsOk, ratings), page(reviewsBlocked, ratingsClosedPort)]);
    running.push(pageOk, pageBlocked);
  });

  after(async () => {
    await Promise.all(running.map((s) => s.stop()));
    if (noSelectUser !== undefined) {
      const root = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
      await root.query("DROP USER IF EXISTS ?@'%'", [noSelectUser]).finally(() => root.end());
    }
    await db?.cleanup();
  });

  test('GET /ratings/<id> reads rows 0 and 1 of test.ratings (1 star each) and echoes the id', async () => {
    const reply = await request(`${ratings.url}/ratings/0`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'application/json');
    assert.equal(reply.text, '{"id":0,"ratings":{"Reviewer1":1,"Reviewer2":1}}');
    assert.equal((await request(`${ratings.url}/ratings/9`)).text, '{"id":9,"ratings":{"Reviewer1":1,"Reviewer2":1}}');
  });

  test('POST is not implemented for the database-backed version', async () => {
    const reply = await request(`${ratings.url}/ratings/0`, { method: 'POST', body: '{"Reviewer1":3}' });
    assert.equal(reply.status, 501);
    assert.equal(reply.text, '{"error":"Post not implemented for database backed ratings"}');
  });

  test('a database that cannot be reached: HTTP 200, no Content-Type, the connect error body', async () => {
    for (const service of [ratingsClosedPort, ratingsBadPassword]) {
      const reply = await request(`${service.url}/ratings/0`);
      assert.equal(reply.status, 200);
      assert.equal(reply.headers['content-type'], undefined);
      assert.equal(reply.text, '{"error":"could not connect to ratings database"}');
    }
  });

  test('a select the account may not run is a 500', async () => {
    const reply = await request(`${ratingsNoSelect.url}/ratings/0`);
    assert.equal(reply.status, 500);
    assert.equal(reply.headers['content-type'], 'application/json');
    assert.equal(reply.text, '{"error":"could not perform select"}');
  });

  test('reviews v3 on MySQL ratings: one red star per review; the page shows 1 filled + 4 outline stars each', async () => {
    const reviews = JSON.parse((await request(`${reviewsOk.url}/reviews/0`)).text);
    assert.deepEqual(reviews.reviews[0].rating, { stars: 1, color: 'red' });
    assert.deepEqual(reviews.reviews[1].rating, { stars: 1, color: 'red' });
    const html = (await request(`${pageOk.url}/productpage`)).text;
    assert.equal(count(html, 'id="glyphicon glyphicon-star"'), 2);
    assert.equal(count(html, 'data-star="outline"'), 8);
    assert.ok(!html.includes(UNAVAILABLE.error));
  });

  test('with the database unreachable, reviews and the page say "Ratings service is currently unavailable"', async () => {
    const reviews = JSON.parse((await request(`${reviewsBlocked.url}/reviews/0`)).text);
    assert.deepEqual(reviews.reviews[0].rating, UNAVAILABLE);
    assert.deepEqual(reviews.reviews[1].rating, UNAVAILABLE);
    const page = await request(`${pageBlocked.url}/productpage`);
    assert.equal(page.status, 200);
    assert.equal(count(page.text, `<p class="text-red-500">${UNAVAILABLE.error}</p>`), 2);
    assert.equal(count(page.text, 'glyphicon glyphicon-star'), 0);
    assert.ok(page.text.includes('Book Details'));
    const direct = await request(`${pageBlocked.url}/api/v1/products/0/ratings`);
    assert.equal(direct.status, 200);
    assert.deepEqual(JSON.parse(direct.text), { error: 'could not connect to ratings database' });
  });

  test('the ratings account may SELECT but not UPDATE test.ratings', async () => {
    const connection = await mysql.createConnection({
      host: '127.0.0.1',
      port: 3306,
      user: db.user,
      password: db.password,
      database: 'test',
    });
    try {
      const [rows] = await connection.query('SELECT Rating FROM ratings');
      assert.equal((rows as unknown[]).length, 2);
      await assert.rejects(
        connection.query('UPDATE ratings SET Rating = 5'),
        (err: { code?: string; errno?: number }) => {
          assert.equal(err.code, 'ER_TABLEACCESS_DENIED_ERROR');
          assert.equal(err.errno, 1142);
          return true;
        },
      );
    } finally {
      await connection.end();
    }
  });
});
