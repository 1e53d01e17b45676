import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildQuery, buildResponse, formatIpv6, parseHeader, parseIpv6, parseMessage, RecordType } from './wire.js';

test('IPv6 addresses survive encoding in their canonical text form', () => {
  for (const [input, canonical] of [
    ['fd00::3', 'fd00::3'],
    ['::1', '::1'],
    ['::', '::'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ] as const) {
    assert.equal(formatIpv6(parseIpv6(input)), canonical, input);
  }
});

test('a response echoes id, RD and the question, with answers pointing at the question name', () => {
  const query = buildQuery(4242, 'Reviews.default', RecordType.A, { ednsUdpSize: 1232 });
  const q = parseMessage(query);
  assert.equal(q.header.rd, true);
  assert.equal(q.additionals[0]?.type, RecordType.OPT);
  const reply = buildResponse({
    query: q.header,
    question: q.questions[0],
    rcode: 0,
    authoritative: true,
    recursionAvailable: false,
    answers: [
      { type: RecordType.CNAME, ttl: 30, value: 'reviews.default.svc.cluster.local' },
      { name: 'reviews.default.svc.cluster.local', type: RecordType.A, ttl: 30, value: '240.241.0.5' },
    ],
    ednsUdpSize: 1232,
  });
  const r = parseMessage(reply);
  assert.deepEqual(
    { id: r.header.id, qr: r.header.qr, aa: r.header.aa, rd: r.header.rd },
    { id: 4242, qr: true, aa: true, rd: true },
  );
  assert.equal(r.questions[0]?.name, 'Reviews.default');
  assert.equal(r.answers[0]?.name, 'Reviews.default');
  assert.equal(r.answers[0]?.target, 'reviews.default.svc.cluster.local');
  assert.equal(r.answers[1]?.address, '240.241.0.5');
  assert.equal(r.additionals[0]?.class, 1232);
});

test('malformed messages are reported, not crashed on', () => {
  assert.throws(() => parseHeader(Buffer.alloc(5)), { code: 'ERR_DNS_WIRE_FORMAT' });
  const header = buildQuery(1, 'a', RecordType.A).subarray(0, 12);
  for (const tail of [
    [0xc0, 12, 0, 1, 0, 1],
    [63, 97],
    [0x80, 0, 0, 1, 0, 1],
    [1, 97, 0, 0],
  ]) {
    assert.throws(() => parseMessage(Buffer.concat([header, Buffer.from(tail)])), { code: 'ERR_DNS_WIRE_FORMAT' });
  }
  assert.throws(() => buildQuery(1, `${'a'.repeat(64)}.com`, RecordType.A), /longer than 63/);
});
