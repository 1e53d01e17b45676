import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { type RunningService, startService } from '../testing/bookinfo-process.js';
import { CaptureServer, closedPort } from '../testing/capture-server.js';
import { request } from '../testing/http-client.js';

const TEXT1 = 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!';
const TEXT2 =
  'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.';
const UNAVAILABLE = { error: 'Ratings service is currently unavailable' };
const RATINGS_OK = { kind: 'json', body: { id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } } } as const;

describe('reviews v1, v2, v3 against a ratings stand-in', () => {
  let ratings: CaptureServer;
  let v1: RunningService;
  let v2: RunningService;
  let v3: RunningService;
  before(async () => {
    ratings = await CaptureServer.start({ '/ratings/': RATINGS_OK });
    const upstream = { RATINGS_HOSTNAME: '127.0.0.1', RATINGS_SERVICE_PORT: String(ratings.port) };
    [v1, v2, v3] = await Promise.all([
      startService('reviews', { ...upstream, ENABLE_RATINGS: 'false', HOSTNAME: 'reviews-v1-pod' }),
      startService('reviews', {
        ...upstream,
        ENABLE_RATINGS: 'true',
        STAR_COLOR: 'black',
        HOSTNAME: 'reviews-v2-pod',
        CLUSTER_NAME: 'east',
      }),
      startService('reviews', { ...upstream, ENABLE_RATINGS: 'true', STAR_COLOR: 'red' }),
    ]);
  });
  afterEach(() => ratings.reset());
  after(() => Promise.all([v1?.stop(), v2?.stop(), v3?.stop(), ratings?.close()]));

  test('GET /health is healthy', async () => {
    const reply = await request(`${v1.url}/health`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(reply.text), { status: 'Reviews is healthy' });
  });

  test('v1 answers the reviews without ratings and never calls ratings', async () => {
    const reply = await request(`${v1.url}/reviews/0`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'application/json');
    assert.equal(
      reply.text,
      JSON.stringify({
        id: '0',
        podname: 'reviews-v1-pod',
        clustername: 'null',
        reviews: [
          { reviewer: 'Reviewer1', text: TEXT1 },
          { reviewer: 'Reviewer2', text: TEXT2 },
        ],
      }),
    );
    assert.equal(ratings.requests.length, 0);
  });

  test('v2 adds black stars from ratings; id is a string, podname and clustername from the environment', async () => {
    const reply = await request(`${v2.url}/reviews/7`);
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.text), {
      id: '7',
      podname: 'reviews-v2-pod',
      clustername: 'east',
      reviews: [
        { reviewer: 'Reviewer1', text: TEXT1, rating: { stars: 5, color: 'black' } },
        { reviewer: 'Reviewer2', text: TEXT2, rating: { stars: 4, color: 'black' } },
      ],
    });
    assert.equal(ratings.requestsTo('/ratings/7').length, 1);
  });

  test('v3 shows red stars; "null" podname and clustername when the environment has none', async () => {
    const body = JSON.parse((await request(`${v3.url}/reviews/0`)).text);
    assert.equal(body.podname, 'null');
    assert.equal(body.clustername, 'null');
    assert.deepEqual(body.reviews[0].rating, { stars: 5, color: 'red' });
    assert.deepEqual(body.reviews[1].rating, { stars: 4, color: 'red' });
  });

  test('a reviewer missing from the ratings reply gets the unavailable error', async () => {
    ratings.on('/ratings/', { kind: 'json', body: { id: 0, ratings: { Reviewer1: 2 } } });
    const body = JSON.parse((await request(`${v3.url}/reviews/0`)).text);
    assert.deepEqual(body.reviews[0].rating, { stars: 2, color: 'red' });
    assert.deepEqual(body.reviews[1].rating, UNAVAILABLE);
  });

  test('a ratings error status, a reply without "ratings", or a reset connection gives both reviews the error', async () => {
    for (const behaviour of [
      { kind: 'json', status: 500, body: { error: 'boom' } },
      { kind: 'json', status: 200, body: { error: 'could not connect to ratings database' } },
      { kind: 'reset' },
    ] as const) {
      ratings.on('/ratings/', behaviour);
      const reply = await request(`${v2.url}/reviews/0`);
      assert.equal(reply.status, 200, behaviour.kind);
      const body = JSON.parse(reply.text);
      assert.deepEqual(body.reviews[0].rating, UNAVAILABLE, JSON.stringify(behaviour));
      assert.deepEqual(body.reviews[1].rating, UNAVAILABLE, JSON.stringify(behaviour));
    }
  });

  test('the tracing, user and auth headers reach ratings unchanged; others do not', async () => {
    const sent = {
      'x-request-id': 'req-0001',
      'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
      'x-b3-spanid': 'e457b5a2e4d86bd1',
      'x-b3-parentspanid': '05e3ac9a4f6e3b90',
      'x-b3-sampled': '1',
      traceparent: '00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01',
      sw8: '1-TRACE-SEGMENT-3-c2VydmljZQ==-aW5zdGFuY2U=-L3Jldmlld3M=-cmF0aW5nczo5MDgw',
      'end-user': 'jason',
      'user-agent': 'bookinfo-test',
      cookie: 'session=abc',
      authorization: 'Bearer t0k3n',
      'x-not-forwarded': 'secret',
    };
    await request(`${v2.url}/reviews/0`, { headers: sent });
    const [call] = ratings.requestsTo('/ratings/0');
    assert.ok(call, 'ratings was called');
    for (const [name, value] of Object.entries(sent)) {
      if (name === 'x-not-forwarded') assert.equal(call.headers[name], undefined);
      else assert.equal(call.headers[name], value, name);
    }
    assert.equal(call.headers.accept, 'application/json');
  });

  test('a non-integer product id is a 404', async () => {
    for (const path of ['/reviews/abc', '/reviews/1.5', '/reviews/99999999999', '/reviews/']) {
      assert.equal((await request(`${v1.url}${path}`)).status, 404, path);
    }
  });
});

describe('reviews ratings timeouts', () => {
  let slowRatings: CaptureServer;
  let black: RunningService;
  let red: RunningService;
  let redNoRatings: RunningService;
  before(async () => {
    // Ratings answers after 3.5 s: past v3's 2.5 s timeout, within v2's 10 s.
    slowRatings = await CaptureServer.start({ '/ratings/': { ...RATINGS_OK, delayMs: 3500 } });
    const upstream = { RATINGS_HOSTNAME: '127.0.0.1', RATINGS_SERVICE_PORT: String(slowRatings.port) };
    [black, red, redNoRatings] = await Promise.all([
      startService('reviews', { ...upstream, ENABLE_RATINGS: 'true', STAR_COLOR: 'black' }),
      startService('reviews', { ...upstream, ENABLE_RATINGS: 'true', STAR_COLOR: 'red' }),
      startService('reviews', {
        RATINGS_HOSTNAME: '127.0.0.1',
        RATINGS_SERVICE_PORT: String(await closedPort()),
        ENABLE_RATINGS: 'true',
        STAR_COLOR: 'red',
      }),
    ]);
  });
  after(() => Promise.all([black?.stop(), red?.stop(), redNoRatings?.stop(), slowRatings?.close()]));

  test('v3 (red) gives up on a slow ratings service; v2 (black) waits for it', async () => {
    const [fromRed, fromBlack] = await Promise.all([
      request(`${red.url}/reviews/0`),
      request(`${black.url}/reviews/0`),
    ]);
    assert.deepEqual(JSON.parse(fromRed.text).reviews[0].rating, UNAVAILABLE);
    assert.deepEqual(JSON.parse(fromBlack.text).reviews[0].rating, { stars: 5, color: 'black' });
  });

  test('an unreachable ratings service gives the unavailable error', async () => {
    const body = JSON.parse((await request(`${redNoRatings.url}/reviews/0`)).text);
    assert.deepEqual(body.reviews[0].rating, UNAVAILABLE);
    assert.deepEqual(body.reviews[1].rating, UNAVAILABLE);
  });

  test('SIGTERM lets the request in flight finish, then the process exits 0', async () => {
    slowRatings.reset();
    slowRatings.on('/ratings/', { ...RATINGS_OK, delayMs: 800 });
    const inFlight = request(`${black.url}/reviews/0`);
    for (let i = 0; i < 100 && slowRatings.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(slowRatings.requests.length > 0, 'the ratings call is under way');
    const ended = black.stop();
    const reply = await inFlight;
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.text).reviews[1].rating, { stars: 4, color: 'black' });
    assert.deepEqual(await ended, { code: 0, signal: null });
  });
});
