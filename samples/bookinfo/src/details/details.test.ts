import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningService, startService } from '../testing/bookinfo-process.js';
import { CaptureServer } from '../testing/capture-server.js';
import { request } from '../testing/http-client.js';
import { externalDetailsJson } from './book-details.js';
import { rubyInteger } from './ruby-integer.js';

const BOOK =
  '{"id":0,"author":"William Shakespeare","year":1595,"type":"paperback","pages":200,"publisher":"PublisherA","language":"English","ISBN-10":"1234567890","ISBN-13":"123-1234567890"}';

describe('details v1 process', () => {
  let details: RunningService;
  before(async () => {
    details = await startService('details', { SERVICE_VERSION: 'v1', ENABLE_EXTERNAL_BOOK_SERVICE: 'false' });
  });
  after(() => details?.stop());

  test('GET /health answers the healthy status as JSON', async () => {
    const reply = await request(`${details.url}/health`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'application/json');
    assert.equal(reply.text, '{"status":"Details is healthy"}');
  });

  test('GET /details/0 answers the book with the keys in the original order', async () => {
    const reply = await request(`${details.url}/details/0`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'application/json');
    assert.equal(reply.text, BOOK);
  });

  test('the id is echoed as an integer, parsed like Ruby Integer()', async () => {
    assert.equal(JSON.parse((await request(`${details.url}/details/7`)).text).id, 7);
    assert.equal(JSON.parse((await request(`${details.url}/details/0x1f`)).text).id, 31);
    assert.equal(JSON.parse((await request(`${details.url}/details/42/`)).text).id, 42);
  });

  test('a non-numeric or missing id is a 400 with the original sentence', async () => {
    for (const path of ['/details/abc', '/details', '/details/', '/details/1.5']) {
      const reply = await request(`${details.url}${path}`);
      assert.equal(reply.status, 400, path);
      assert.equal(reply.headers['content-type'], 'application/json');
      assert.equal(reply.text, '{"error":"please provide numeric product id"}', path);
    }
  });

  test('an unknown path is a 404', async () => {
    const reply = await request(`${details.url}/books/0`);
    assert.equal(reply.status, 404);
    assert.match(reply.text, /Not Found/);
  });
});

describe('rubyInteger', () => {
  test('accepts what Ruby Integer() accepts', () => {
    assert.equal(rubyInteger('0'), 0n);
    assert.equal(rubyInteger(' 12 '), 12n);
    assert.equal(rubyInteger('-3'), -3n);
    assert.equal(rubyInteger('1_000'), 1000n);
    assert.equal(rubyInteger('0b101'), 5n);
    assert.equal(rubyInteger('017'), 15n);
    assert.equal(rubyInteger('0o17'), 15n);
    assert.equal(rubyInteger('0xff'), 255n);
    assert.equal(rubyInteger('99999999999999999999'), 99999999999999999999n);
  });

  test('rejects what Ruby Integer() rejects', () => {
    for (const text of ['', 'abc', '08', '1__0', '_1', '1_', '0x', '1.0', '1e3', '12abc']) {
      assert.equal(rubyInteger(text), undefined, text);
    }
  });
});

describe('details external mode', () => {
  let books: CaptureServer;
  before(async () => {
    books = await CaptureServer.start({
      '/books/v1/volumes': {
        kind: 'json',
        body: {
          items: [
            {
              volumeInfo: {
                authors: ['William Shakespeare'],
                publishedDate: '2002-07-25',
                printType: 'BOOK',
                pageCount: 80,
                publisher: 'Courier Corporation',
                language: 'en',
                industryIdentifiers: [
                  { type: 'ISBN_10', identifier: '0486424618' },
                  { type: 'ISBN_13', identifier: '9780486424613' },
                ],
              },
            },
          ],
        },
      },
    });
  });
  after(() => books?.close());

  test('maps the book service reply and forwards the headers it is given', async () => {
    const json = await externalDetailsJson(3n, {
      plainHttp: true,
      headers: { 'x-request-id': 'r-1' },
      baseUrl: `http://127.0.0.1:${books.port}`,
    });
    assert.equal(
      json,
      '{"id":3,"author":"William Shakespeare","year":"2002-07-25","type":"paperback","pages":80,"publisher":"Courier Corporation","language":"English","ISBN-10":"0486424618","ISBN-13":"9780486424613"}',
    );
    const [call] = books.requestsTo('/books/v1/volumes');
    assert.equal(call?.url, '/books/v1/volumes?q=isbn:0486424618');
    assert.equal(call?.headers['x-request-id'], 'r-1');
  });

  test('an unusable reply is an error (the service turns it into a 400)', async () => {
    books.on('/books/v1/volumes', { kind: 'json', body: { totalItems: 0 } });
    await assert.rejects(
      externalDetailsJson(0n, { plainHttp: true, headers: {}, baseUrl: `http://127.0.0.1:${books.port}` }),
      /no volumeInfo/,
    );
  });
});
