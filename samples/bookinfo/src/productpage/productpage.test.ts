import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { type RunningService, startService } from '../testing/bookinfo-process.js';
import { CaptureServer } from '../testing/capture-server.js';
import { count, request } from '../testing/http-client.js';

const FILLED = 'id="glyphicon glyphicon-star"';
const OUTLINE = 'data-star="outline"';
const RATINGS_UNAVAILABLE = 'Ratings service is currently unavailable';

function upstreamEnv(details: number, reviews: number, ratings: number): Record<string, string> {
  return {
    DETAILS_HOSTNAME: '127.0.0.1',
    DETAILS_SERVICE_PORT: String(details),
    REVIEWS_HOSTNAME: '127.0.0.1',
    REVIEWS_SERVICE_PORT: String(reviews),
    RATINGS_HOSTNAME: '127.0.0.1',
    RATINGS_SERVICE_PORT: String(ratings),
  };
}

describe('productpage with the real details, reviews v1/v2/v3 and ratings', () => {
  const running: RunningService[] = [];
  let pages: Record<'v1' | 'v2' | 'v3', RunningService>;
  before(async () => {
    const [details, ratings] = await Promise.all([startService('details'), startService('ratings')]);
    running.push(details, ratings);
    const ratingsEnv = { RATINGS_HOSTNAME: '127.0.0.1', RATINGS_SERVICE_PORT: String(ratings.port) };
    const reviews = await Promise.all([
      startService('reviews', { ...ratingsEnv, ENABLE_RATINGS: 'false', HOSTNAME: 'reviews-v1-5b8d' }),
      startService('reviews', { ...ratingsEnv, ENABLE_RATINGS: 'true', STAR_COLOR: 'black', CLUSTER_NAME: 'east' }),
      startService('reviews', { ...ratingsEnv, ENABLE_RATINGS: 'true', STAR_COLOR: 'red' }),
    ]);
    running.push(...reviews);
    const [v1, v2, v3] = await Promise.all(
      reviews.map((r) => startService('productpage', upstreamEnv(details.port, r.port, ratings.port))),
    );
    running.push(v1!, v2!, v3!);
    pages = { v1: v1!, v2: v2!, v3: v3! };
  });
  after(() => Promise.all(running.map((s) => s.stop())));

  test('the page has the title, the nav bar, the sign-in form, the book and its details', async () => {
    const reply = await request(`${pages.v1.url}/productpage`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'text/html; charset=utf-8');
    const html = reply.text;
    assert.match(html, /<title>Simple Bookstore App<\/title>/);
    assert.match(html, />BookInfo Sample</);
    assert.match(html, /<form[^>]*method="post" action="login"/);
    assert.match(html, /name="username"/);
    assert.match(html, /name="passwd"/);
    assert.match(html, /<h1[^>]*>The Comedy of Errors<\/h1>/);
    assert.ok(html.includes("<b>William Shakespeare's</b> early plays"), 'descriptionHtml is not escaped');
    assert.ok(html.includes('Book Details'));
    for (const value of ['1234567890', 'PublisherA', '200', 'paperback', 'English']) {
      assert.ok(html.includes(`>${value}</td>`), value);
    }
    assert.ok(!html.includes('123-1234567890'), 'ISBN-13 is not shown');
    assert.ok(html.includes('Sign in'));
    assert.ok(!html.includes('Sign out'));
  });

  test('reviews v1: both reviews, no stars, served-by line without a cluster', async () => {
    const html = (await request(`${pages.v1.url}/productpage`)).text;
    assert.ok(html.includes('Book Reviews'));
    assert.ok(html.includes('An extremely entertaining play by Shakespeare.'));
    assert.ok(html.includes('Reviewer2'));
    assert.equal(count(html, 'glyphicon glyphicon-star'), 0);
    assert.equal(count(html, OUTLINE), 0);
    assert.equal(count(html, 'Reviews served by:'), 2);
    assert.ok(html.includes('reviews-v1-5b8d'));
    assert.ok(!html.includes('on cluster'));
  });

  test('reviews v2: 5 + 4 black stars, one outline star, the cluster line', async () => {
    const html = (await request(`${pages.v2.url}/productpage`)).text;
    assert.equal(count(html, FILLED), 9);
    assert.equal(count(html, OUTLINE), 1);
    assert.equal(count(html, 'text-black-500'), 2 + 9);
    assert.ok(!html.includes('text-red-500"'));
    assert.ok(html.includes('on cluster <div>east</div>'));
    assert.ok(html.includes('Reviews served by:'));
    assert.ok(!html.includes(RATINGS_UNAVAILABLE));
  });

  test('reviews v3: red stars', async () => {
    const html = (await request(`${pages.v3.url}/productpage`)).text;
    assert.equal(count(html, FILLED), 9);
    assert.equal(count(html, OUTLINE), 1);
    assert.equal(count(html, 'text-red-500'), 2 + 9);
    assert.equal(count(html, 'text-black-500'), 0);
  });

  test('the JSON API passes details, reviews and ratings through', async () => {
    const products = await request(`${pages.v3.url}/api/v1/products`);
    assert.equal(products.status, 200);
    assert.equal(products.headers['content-type'], 'application/json');
    const list = JSON.parse(products.text);
    assert.deepEqual(Object.keys(list[0]), ['id', 'title', 'descriptionHtml']);
    assert.equal(list[0].id, 0);
    assert.equal(list[0].title, 'The Comedy of Errors');
    assert.match(
      list[0].descriptionHtml,
      /^<a href="https:\/\/en.wikipedia.org\/wiki\/The_Comedy_of_Errors">Wikipedia Summary<\/a>: /,
    );

    const details = await request(`${pages.v3.url}/api/v1/products/0`);
    assert.equal(details.status, 200);
    assert.equal(details.headers['content-type'], 'application/json');
    assert.equal(JSON.parse(details.text)['ISBN-10'], '1234567890');

    const reviews = await request(`${pages.v3.url}/api/v1/products/0/reviews`);
    assert.equal(reviews.status, 200);
    assert.deepEqual(JSON.parse(reviews.text).reviews[0].rating, { stars: 5, color: 'red' });

    const ratings = await request(`${pages.v3.url}/api/v1/products/0/ratings`);
    assert.equal(ratings.status, 200);
    assert.deepEqual(JSON.parse(ratings.text), { id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } });

    const badId = await request(`${pages.v3.url}/api/v1/products/abc`);
    assert.equal(badId.status, 400);
    assert.deepEqual(JSON.parse(badId.text), {
      error: 'Sorry, product details are currently unavailable for this book.',
    });
  });

  test('/metrics counts request results per destination and code', async () => {
    const reply = await request(`${pages.v1.url}/metrics`);
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /^text\/plain/);
    assert.match(reply.text, /^# TYPE request_result_total counter$/m);
    assert.match(reply.text, /^request_result_total\{destination_app="details",response_code="200"\} [1-9]/m);
    assert.match(reply.text, /^request_result_total\{destination_app="reviews",response_code="200"\} [1-9]/m);
  });
});

describe('productpage routes, session and headers against a capturing upstream', () => {
  const REVIEWS = {
    id: '0',
    podname: 'reviews-pod',
    clustername: 'null',
    reviews: [
      { reviewer: 'Reviewer1', text: 'one', rating: { stars: 1, color: 'red' } },
      { reviewer: 'Reviewer2', text: 'two', rating: { error: RATINGS_UNAVAILABLE } },
    ],
  };
  const DEFAULTS = {
    '/details/': { kind: 'json', body: { id: 0, 'ISBN-10': '1234567890', publisher: 'P', pages: 1 } },
    '/reviews/': { kind: 'json', body: REVIEWS },
    '/ratings/': { kind: 'json', body: { id: 0, ratings: { Reviewer1: 1, Reviewer2: 1 } } },
  } as const;
  let upstream: CaptureServer;
  let page: RunningService;
  before(async () => {
    upstream = await CaptureServer.start(DEFAULTS);
    page = await startService('productpage', {
      ...upstreamEnv(upstream.port, upstream.port, upstream.port),
      SESSION_SECRET: 'test-secret',
    });
  });
  afterEach(() => upstream.reset());
  after(() => Promise.all([page?.stop(), upstream?.close()]));

  test('/health answers plain text', async () => {
    const reply = await request(`${page.url}/health`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(reply.text, 'Product page is healthy');
  });

  test('/ and /index.html show the service graph and the two product page links', async () => {
    for (const path of ['/', '/index.html']) {
      const reply = await request(`${page.url}${path}`);
      assert.equal(reply.status, 200);
      assert.equal(reply.headers['content-type'], 'text/html; charset=utf-8');
      assert.ok(reply.text.includes('<title>Simple Bookstore App</title>'));
      assert.ok(reply.text.includes('href="/productpage?u=normal"'));
      assert.ok(reply.text.includes('href="/productpage?u=test"'));
      assert.ok(reply.text.includes(`http://127.0.0.1:${upstream.port}`));
    }
  });

  test('/static serves the stylesheet and the avatar image, nothing else', async () => {
    const css = await request(`${page.url}/static/tailwind/tailwind.css`);
    assert.equal(css.status, 200);
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    assert.ok(css.text.includes('.text-red-500'));
    const png = await request(`${page.url}/static/img/izzy.png`);
    assert.equal(png.status, 200);
    assert.equal(png.headers['content-type'], 'image/png');
    assert.deepEqual([...png.body.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    for (const path of ['/static/../main.ts', '/static/img/other.png', '/nowhere']) {
      assert.equal((await request(`${page.url}${path}`)).status, 404, path);
    }
  });

  test('a rating error shows in red; stars and outline stars add up to five', async () => {
    const html = (await request(`${page.url}/productpage`)).text;
    assert.equal(count(html, FILLED), 1);
    assert.equal(count(html, OUTLINE), 4);
    assert.ok(html.includes(`<p class="text-red-500">${RATINGS_UNAVAILABLE}</p>`));
  });

  test('login as jason: 302 back to the Referer, then end-user: jason on upstream calls; logout clears it', async () => {
    const referer = `${page.url}/productpage`;
    const login = await request(`${page.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', referer },
      body: 'username=jason&passwd=password',
    });
    assert.equal(login.status, 302);
    assert.equal(login.headers.location, referer);
    const setCookie = login.headers['set-cookie']?.[0] ?? '';
    assert.match(setCookie, /^session=[^;]+; HttpOnly; Path=\//);
    const cookie = setCookie.split(';')[0]!;

    const html = (await request(`${page.url}/productpage`, { headers: { cookie } })).text;
    assert.ok(html.includes('>jason</p>'));
    assert.ok(html.includes('<a href="logout"'));
    assert.ok(html.includes('Sign out'));
    const [reviewsCall] = upstream.requestsTo('/reviews/0');
    assert.equal(reviewsCall?.headers['end-user'], 'jason');
    assert.equal(reviewsCall?.headers.cookie, cookie);
    assert.equal(upstream.requestsTo('/details/0')[0]?.headers['end-user'], 'jason');

    const logout = await request(`${page.url}/logout`, { headers: { cookie, referer } });
    assert.equal(logout.status, 302);
    assert.equal(logout.headers.location, referer);
    assert.match(logout.headers['set-cookie']?.[0] ?? '', /^session=; .*Max-Age=0/);
  });

  test('no end-user without a valid session: a forged cookie or a client-sent header does not count', async () => {
    const forged = `session=${Buffer.from('{"user":"jason"}').toString('base64url')}.AAAA`;
    const html = (await request(`${page.url}/productpage`, { headers: { cookie: forged, 'end-user': 'mallory' } }))
      .text;
    assert.ok(html.includes('Sign in'));
    assert.ok(!html.includes('jason'));
    for (const call of upstream.requests) assert.equal(call.headers['end-user'], undefined, call.url);
  });

  test('x-request-id, B3 and sw8 reach reviews and ratings with identical values', async () => {
    const sent = {
      'x-request-id': '6f0f3c5e-4a1b-4c59-9d7e-0a8c5b1e2f33',
      'x-b3-traceid': '463ac35c9f6413ad48485a3953bb6124',
      'x-b3-spanid': 'a2fb4a1d1a96d312',
      'x-b3-parentspanid': '0020000000000001',
      'x-b3-sampled': '1',
      sw8: '1-NDYzYWMzNWM5ZjY0MTNhZA==-YTJmYjRhMWQxYTk2ZDMxMg==-0-cHJvZHVjdHBhZ2U=-aW5zdGFuY2U=-L3Jldmlld3M=-cmV2aWV3czo5MDgw',
    };
    const reviews = await request(`${page.url}/api/v1/products/0/reviews`, { headers: sent });
    assert.equal(reviews.status, 200);
    const ratings = await request(`${page.url}/api/v1/products/0/ratings`, { headers: sent });
    assert.equal(ratings.status, 200);
    for (const prefix of ['/reviews/0', '/ratings/0']) {
      const [call] = upstream.requestsTo(prefix);
      assert.ok(call, prefix);
      for (const name of ['x-request-id', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-sampled', 'sw8'] as const) {
        assert.equal(call.headers[name], sent[name], `${prefix} ${name}`);
      }
      assert.equal(call.headers['x-b3-parentspanid'], undefined, 'the B3 propagator drops the parent span id');
    }
  });

  test('a single b3 header goes out as B3 multi headers', async () => {
    await request(`${page.url}/api/v1/products/0`, {
      headers: { b3: '463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1' },
    });
    const [call] = upstream.requestsTo('/details/0');
    assert.equal(call?.headers['x-b3-traceid'], '463ac35c9f6413ad48485a3953bb6124');
    assert.equal(call?.headers['x-b3-spanid'], 'a2fb4a1d1a96d312');
    assert.equal(call?.headers['x-b3-sampled'], '1');
  });

  test('details failing: the page says so with the upstream sentence; the API returns the upstream status', async () => {
    upstream.on('/details/', { kind: 'json', status: 503, body: { error: 'unavailable' } });
    const html = (await request(`${page.url}/productpage`)).text;
    assert.ok(html.includes('Error fetching product details'));
    assert.ok(html.includes('Sorry, product details are currently unavailable for this book.'));
    assert.ok(!html.includes('Book Details'));
    assert.ok(html.includes('Book Reviews'));
    const api = await request(`${page.url}/api/v1/products/0`);
    assert.equal(api.status, 503);
    assert.equal(api.text, '{"error": "Sorry, product details are currently unavailable for this book."}');
    assert.equal(upstream.requestsTo('/details/').length, 2, 'one attempt per call');
  });

  test('reviews failing without a reply: two attempts, then 500 and the reviews sentence', async () => {
    upstream.on('/reviews/', { kind: 'reset' });
    const reply = await request(`${page.url}/productpage`);
    assert.equal(reply.status, 200);
    assert.ok(reply.text.includes('Error fetching product reviews'));
    assert.ok(reply.text.includes('Sorry, product reviews are currently unavailable for this book.'));
    assert.equal(upstream.requestsTo('/reviews/').length, 2);
    const api = await request(`${page.url}/api/v1/products/0/reviews`);
    assert.equal(api.status, 500);
    assert.deepEqual(JSON.parse(api.text), {
      error: 'Sorry, product reviews are currently unavailable for this book.',
    });
  });

  test('ratings failing: the API returns its status and the ratings sentence', async () => {
    upstream.on('/ratings/', { kind: 'json', status: 555, body: {} });
    const api = await request(`${page.url}/api/v1/products/0/ratings`);
    assert.equal(api.status, 555);
    assert.deepEqual(JSON.parse(api.text), {
      error: 'Sorry, product ratings are currently unavailable for this book.',
    });
  });

  test('reviews slower than 3 s: both attempts time out and the page shows the reviews error', async () => {
    upstream.on('/reviews/', { kind: 'json', body: REVIEWS, delayMs: 3600 });
    const html = (await request(`${page.url}/productpage`)).text;
    assert.ok(html.includes('Error fetching product reviews'));
    assert.ok(html.includes('Sorry, product reviews are currently unavailable for this book.'));
    assert.equal(upstream.requestsTo('/reviews/').length, 2);
  });

  test('login only accepts POST', async () => {
    assert.equal((await request(`${page.url}/login`)).status, 405);
  });
});
