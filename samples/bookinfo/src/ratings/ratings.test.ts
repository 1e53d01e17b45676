import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, mock, test } from 'node:test';
import { type RunningService, startService } from '../testing/bookinfo-process.js';
import { request } from '../testing/http-client.js';
import { UNAVAILABLE_FLIP_MS, UNHEALTHY_FLIP_MS } from './fault-modes.js';
import { createRatingsService } from './ratings-handler.js';

const JSON_TYPE = 'application/json';

describe('ratings v1', () => {
  let ratings: RunningService;
  before(async () => {
    ratings = await startService('ratings', { SERVICE_VERSION: 'v1' });
  });
  after(() => ratings?.stop());

  test('GET /health is healthy', async () => {
    const reply = await request(`${ratings.url}/health`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], JSON_TYPE);
    assert.equal(reply.text, '{"status":"Ratings is healthy"}');
  });

  test('GET /ratings/<id> answers the built-in ratings with the id as a number', async () => {
    const reply = await request(`${ratings.url}/ratings/0`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], JSON_TYPE);
    assert.equal(reply.text, '{"id":0,"ratings":{"Reviewer1":5,"Reviewer2":4}}');
    assert.equal(
      (await request(`${ratings.url}/ratings/12`)).text,
      '{"id":12,"ratings":{"Reviewer1":5,"Reviewer2":4}}',
    );
  });

  test('a non-numeric id is a 400', async () => {
    const reply = await request(`${ratings.url}/ratings/abc`);
    assert.equal(reply.status, 400);
    assert.equal(reply.headers['content-type'], JSON_TYPE);
    assert.equal(reply.text, '{"error":"please provide numeric product ID"}');
  });

  test('POST stores ratings for that id in memory; later GETs return them', async () => {
    const posted = await request(`${ratings.url}/ratings/3`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"Reviewer1":2,"Reviewer2":3}',
    });
    assert.equal(posted.status, 200);
    assert.equal(posted.headers['content-type'], JSON_TYPE);
    assert.equal(posted.text, '{"id":3,"ratings":{"Reviewer1":2,"Reviewer2":3}}');
    assert.equal((await request(`${ratings.url}/ratings/3`)).text, '{"id":3,"ratings":{"Reviewer1":2,"Reviewer2":3}}');
    assert.equal((await request(`${ratings.url}/ratings/4`)).text, '{"id":4,"ratings":{"Reviewer1":5,"Reviewer2":4}}');
  });

  test('POST with a body that is not JSON is a 400', async () => {
    const reply = await request(`${ratings.url}/ratings/3`, { method: 'POST', body: '{nope' });
    assert.equal(reply.status, 400);
    assert.equal(reply.text, '{"error":"please provide valid ratings JSON"}');
  });

  test('an unmatched route is a 404 with an empty body', async () => {
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/rating/0'],
      ['PUT', '/ratings/0'],
    ] as const) {
      const reply = await request(`${ratings.url}${path}`, { method });
      assert.equal(reply.status, 404, `${method} ${path}`);
      assert.equal(reply.text, '');
    }
  });
});

describe('ratings v2 without MySQL (the MongoDB variant)', () => {
  let ratings: RunningService;
  before(async () => {
    ratings = await startService('ratings', { SERVICE_VERSION: 'v2' });
  });
  after(() => ratings?.stop());

  test('GET fails like an unreachable MongoDB', async () => {
    const reply = await request(`${ratings.url}/ratings/0`);
    assert.equal(reply.status, 500);
    assert.equal(reply.text, '{"error":"could not connect to ratings database"}');
  });

  test('POST is not implemented for database-backed ratings', async () => {
    const reply = await request(`${ratings.url}/ratings/0`, { method: 'POST', body: '{"Reviewer1":1}' });
    assert.equal(reply.status, 501);
    assert.equal(reply.headers['content-type'], JSON_TYPE);
    assert.equal(reply.text, '{"error":"Post not implemented for database backed ratings"}');
  });
});

describe('ratings fault versions', () => {
  let faulty: RunningService;
  let unavailable: RunningService;
  let unhealthy: RunningService;
  before(async () => {
    [faulty, unavailable, unhealthy] = await Promise.all([
      startService('ratings', { SERVICE_VERSION: 'v-faulty' }),
      startService('ratings', { SERVICE_VERSION: 'v-unavailable' }),
      startService('ratings', { SERVICE_VERSION: 'v-unhealthy' }),
    ]);
  });
  after(() => Promise.all([faulty?.stop(), unavailable?.stop(), unhealthy?.stop()]));

  test('v-faulty answers some requests with 503 "Service unavailable" and the others normally', async () => {
    const seen = new Map<number, string>();
    for (let i = 0; i < 80 && seen.size < 2; i++) {
      const reply = await request(`${faulty.url}/ratings/0`);
      seen.set(reply.status, reply.text);
    }
    assert.equal(seen.get(503), '{"error":"Service unavailable"}');
    assert.equal(seen.get(200), '{"id":0,"ratings":{"Reviewer1":5,"Reviewer2":4}}');
  });

  test('v-unavailable and v-unhealthy start available and healthy', async () => {
    for (const service of [unavailable, unhealthy]) {
      assert.equal((await request(`${service.url}/ratings/0`)).status, 200);
      assert.equal((await request(`${service.url}/health`)).text, '{"status":"Ratings is healthy"}');
    }
  });
});

describe('ratings availability flips (timers advanced by hand)', () => {
  async function serve(version: string) {
    const service = createRatingsService({
      version,
      mysql: false,
      mysqlSettings: { host: undefined, port: undefined, user: undefined, password: undefined },
    });
    const server = http.createServer((req, res) => void service.handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const close = async () => {
      service.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    };
    return { url, close };
  }

  test('v-unavailable answers 503 for a minute, then normally again, health staying up', async (t) => {
    mock.timers.enable({ apis: ['setInterval'] });
    t.after(() => mock.timers.reset());
    const service = await serve('v-unavailable');
    t.after(service.close);
    mock.timers.tick(UNAVAILABLE_FLIP_MS);
    const down = await request(`${service.url}/ratings/0`);
    assert.equal(down.status, 503);
    assert.equal(down.text, '{"error":"Service unavailable"}');
    assert.equal((await request(`${service.url}/health`)).status, 200);
    mock.timers.tick(UNAVAILABLE_FLIP_MS);
    assert.equal((await request(`${service.url}/ratings/0`)).status, 200);
  });

  test('v-unhealthy fails its health check and its ratings for 15 minutes', async (t) => {
    mock.timers.enable({ apis: ['setInterval'] });
    t.after(() => mock.timers.reset());
    const service = await serve('v-unhealthy');
    t.after(service.close);
    mock.timers.tick(UNHEALTHY_FLIP_MS);
    const health = await request(`${service.url}/health`);
    assert.equal(health.status, 500);
    assert.equal(health.text, '{"status":"Ratings is not healthy"}');
    assert.equal((await request(`${service.url}/ratings/0`)).status, 503);
    mock.timers.tick(UNHEALTHY_FLIP_MS);
    assert.equal((await request(`${service.url}/health`)).status, 200);
  });
});
