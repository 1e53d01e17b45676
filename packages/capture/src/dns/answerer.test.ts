import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { DnsAnswerer } from './answerer.js';
import type { NameTable } from './name-table.js';
import { buildQuery, parseMessage, Rcode, RecordType } from './wire.js';

const run = promisify(execFile);

const bigIps = Array.from({ length: 60 }, (_, i) => `240.240.1.${i + 1}`);
const meshTable: NameTable = {
  table: {
    'reviews.default.svc.cluster.local': {
      ips: ['240.241.0.5'],
      registry: 'Kubernetes',
      shortname: 'reviews',
      namespace: 'default',
    },
    'ratings.other.svc.cluster.local': {
      ips: ['240.241.0.6'],
      registry: 'Kubernetes',
      shortname: 'ratings',
      namespace: 'other',
    },
    'mysql.example.com': { ips: ['240.240.0.1'], registry: 'External', alt_hosts: ['mysqldb.example.net'] },
    '*.wikipedia.org': { ips: ['240.240.0.2'], registry: 'External' },
    'dual.example.com': { ips: ['240.240.0.3', 'fd00::3'], registry: 'External' },
    'big.example.com': { ips: bigIps, registry: 'External' },
  },
};

async function dig(
  port: number,
  ...args: string[]
): Promise<{ status: string; answers: string[]; flags: string; raw: string }> {
  const { stdout } = await run('dig', [`@127.0.0.1`, '-p', String(port), '+tries=1', '+time=2', ...args]);
  const status = /status: (\w+)/.exec(stdout)?.[1] ?? 'none';
  const flags = /;; flags: ([a-z ]+);/.exec(stdout)?.[1] ?? '';
  const answerSection = /;; ANSWER SECTION:\n([\s\S]*?)\n\n/.exec(stdout)?.[1] ?? '';
  const answers = answerSection
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(/\s+/))
    .map((f) => `${f[0]} ${f[3]} ${f[4]}`);
  return { status, answers, flags, raw: stdout };
}

function udpQuery(port: number, packet: Buffer, waitMs = 1000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(undefined);
    }, waitMs);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.send(packet, port, '127.0.0.1');
  });
}

function tcpQuery(port: number, packet: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let buffered: Buffer = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('connect', () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(packet.length);
      socket.write(Buffer.concat([prefix, packet]));
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        resolve(buffered.subarray(2));
        socket.end();
      }
    });
  });
}

describe('DnsAnswerer answering from the mesh name table', () => {
  const answerer = new DnsAnswerer({ port: 0, namespace: 'default', nameTable: meshTable });
  let port = 0;
  before(async () => {
    port = (await answerer.listen()).port;
  });
  after(() => answerer.destroy());

  test('a Service answers under its short, namespaced and full names in the workload namespace', async () => {
    for (const name of ['reviews', 'reviews.default', 'reviews.default.svc', 'reviews.default.svc.cluster.local']) {
      const r = await dig(port, name, 'A');
      assert.equal(r.status, 'NOERROR', name);
      assert.deepEqual(r.answers, [`${name}. A 240.241.0.5`]);
      assert.match(r.flags, /\baa\b/);
    }
  });

  test('a Service of another namespace needs its namespace in the name', async () => {
    assert.equal((await dig(port, 'ratings', 'A')).status, 'NXDOMAIN');
    assert.deepEqual((await dig(port, 'ratings.other', 'A')).answers, ['ratings.other. A 240.241.0.6']);
  });

  test('ServiceEntry hosts: exact, alternate, wildcard, any letter case', async () => {
    assert.deepEqual((await dig(port, 'mysql.example.com', 'A')).answers, ['mysql.example.com. A 240.240.0.1']);
    assert.deepEqual((await dig(port, 'MySQL.Example.COM', 'A')).answers, ['MySQL.Example.COM. A 240.240.0.1']);
    assert.deepEqual((await dig(port, 'mysqldb.example.net', 'A')).answers, ['mysqldb.example.net. A 240.240.0.1']);
    assert.deepEqual((await dig(port, 'en.wikipedia.org', 'A')).answers, ['en.wikipedia.org. A 240.240.0.2']);
    assert.deepEqual((await dig(port, 'a.b.wikipedia.org', 'A')).answers, ['a.b.wikipedia.org. A 240.240.0.2']);
    assert.equal((await dig(port, 'wikipedia.org', 'A')).status, 'NXDOMAIN', 'a wildcard does not cover its own apex');
  });

  test('a name with a resolv.conf search suffix appended is answered with a CNAME to the real name', async () => {
    const r = await dig(port, 'mysql.example.com.default.svc.cluster.local', 'A');
    assert.equal(r.status, 'NOERROR');
    assert.deepEqual(r.answers, [
      'mysql.example.com.default.svc.cluster.local. CNAME mysql.example.com.',
      'mysql.example.com. A 240.240.0.1',
    ]);
  });

  test('AAAA comes from the IPv6 addresses; a known name without them answers NODATA, not NXDOMAIN', async () => {
    assert.deepEqual((await dig(port, 'dual.example.com', 'AAAA')).answers, ['dual.example.com. AAAA fd00::3']);
    assert.deepEqual((await dig(port, 'dual.example.com', 'A')).answers, ['dual.example.com. A 240.240.0.3']);
    const nodata = await dig(port, 'mysql.example.com', 'AAAA');
    assert.equal(nodata.status, 'NOERROR');
    assert.deepEqual(nodata.answers, []);
    const mx = await dig(port, 'mysql.example.com', 'MX');
    assert.equal(mx.status, 'NOERROR');
    assert.deepEqual(mx.answers, []);
  });

  test('anything else is NXDOMAIN (no upstream configured)', async () => {
    const r = await dig(port, 'www.google.com', 'A');
    assert.equal(r.status, 'NXDOMAIN');
    assert.deepEqual(r.answers, []);
  });

  test('the same answers over TCP', async () => {
    const r = await dig(port, '+tcp', 'reviews', 'A');
    assert.deepEqual(r.answers, ['reviews. A 240.241.0.5']);
  });

  test('an answer too big for UDP sets TC with no answers; dig then retries over TCP and gets all of them', async () => {
    const reply = await udpQuery(port, buildQuery(7, 'big.example.com', RecordType.A));
    assert.ok(reply);
    const parsed = parseMessage(reply);
    assert.equal(parsed.header.tc, true);
    assert.equal(parsed.header.id, 7);
    assert.equal(parsed.answers.length, 0);
    const viaDig = await dig(port, '+noedns', 'big.example.com', 'A');
    assert.match(viaDig.raw, /Truncated, retrying in TCP mode/);
    assert.equal(viaDig.answers.length, 60);
    // with EDNS0 and a big enough buffer the whole answer fits in one datagram
    const edns = parseMessage(
      (await udpQuery(port, buildQuery(8, 'big.example.com', RecordType.A, { ednsUdpSize: 4096 })))!,
    );
    assert.equal(edns.header.tc, false);
    assert.deepEqual(
      edns.answers.map((a) => a.address),
      bigIps,
    );
  });

  test('malformed packets get no answer or FORMERR, and the answerer keeps answering', async () => {
    assert.equal(await udpQuery(port, Buffer.from([1, 2, 3]), 300), undefined, 'shorter than a header: silence');
    const response = buildQuery(9, 'reviews', RecordType.A);
    response.writeUInt16BE(0x8100, 2); // QR set: a response, never answered
    assert.equal(await udpQuery(port, response, 300), undefined);
    const loop = Buffer.concat([
      buildQuery(10, 'x', RecordType.A).subarray(0, 12),
      Buffer.from([0xc0, 12, 0, 1, 0, 1]),
    ]);
    const formerr = parseMessage((await udpQuery(port, loop))!);
    assert.equal(formerr.header.rcode, Rcode.FORMERR);
    assert.equal(formerr.header.id, 10);
    const cut = buildQuery(11, 'reviews', RecordType.A).subarray(0, 16);
    assert.equal(parseMessage((await udpQuery(port, cut))!).header.rcode, Rcode.FORMERR);
    // a TCP frame announcing fewer bytes than a header: the connection is dropped
    const closed = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write(Buffer.from([0, 3, 1, 2, 3])));
      s.on('close', () => resolve(true));
      s.on('error', () => undefined);
    });
    assert.equal(closed, true);
    assert.deepEqual((await dig(port, 'reviews', 'A')).answers, ['reviews. A 240.241.0.5']);
    assert.ok(answerer.stats.malformed >= 4);
  });

  test('remembers which name it answered for which IP', async () => {
    await dig(port, 'mysql.example.com', 'A');
    await dig(port, 'en.wikipedia.org', 'A');
    assert.equal(answerer.nameForIp('240.240.0.1'), 'mysql.example.com');
    assert.equal(answerer.nameForIp('240.240.0.2'), 'en.wikipedia.org');
    await dig(port, 'dual.example.com', 'AAAA');
    assert.equal(answerer.nameForIp('FD00::3'), 'dual.example.com');
    assert.equal(answerer.nameForIp('203.0.113.9'), undefined);
  });
});

describe('DnsAnswerer lifecycle, table replacement, memory bound and upstream', () => {
  test('setNameTable replaces the table; a malformed table is refused and the old one stays', async (t) => {
    const answerer = new DnsAnswerer({ port: 0, nameTable: meshTable });
    t.after(() => answerer.destroy());
    const { port } = await answerer.listen();
    answerer.setNameTable({ table: { 'redis.example.com': { ips: ['240.240.0.9'] } } });
    assert.deepEqual((await dig(port, 'redis.example.com', 'A')).answers, ['redis.example.com. A 240.240.0.9']);
    assert.equal((await dig(port, 'mysql.example.com', 'A')).status, 'NXDOMAIN');
    assert.throws(
      () => answerer.setNameTable({ table: { 'pg.example.com': { ips: ['not-an-ip'] } } }),
      (err: Error & { code?: string; path?: string }) =>
        err.code === 'ERR_DNS_NAME_TABLE' && err.path === 'table["pg.example.com"].ips[0]',
    );
    assert.throws(
      () => answerer.setNameTable({ table: { 'foo*.example.com': { ips: ['240.240.0.1'] } } }),
      (err: Error & { code?: string }) => err.code === 'ERR_DNS_NAME_TABLE' && /wildcard/.test(err.message),
    );
    assert.deepEqual((await dig(port, 'redis.example.com', 'A')).answers, ['redis.example.com. A 240.240.0.9']);
  });

  test('the IP → name memory is bounded and forgets the least recently used', async (t) => {
    const answerer = new DnsAnswerer({ port: 0, nameTable: meshTable, rememberedAnswers: 2 });
    t.after(() => answerer.destroy());
    const { port } = await answerer.listen();
    await dig(port, 'mysql.example.com', 'A');
    await dig(port, 'en.wikipedia.org', 'A');
    assert.equal(answerer.nameForIp('240.240.0.1'), 'mysql.example.com'); // now the most recent
    await dig(port, 'reviews', 'A');
    assert.equal(answerer.nameForIp('240.240.0.2'), undefined);
    assert.equal(answerer.nameForIp('240.240.0.1'), 'mysql.example.com');
    assert.equal(answerer.nameForIp('240.241.0.5'), 'reviews');
  });

  test('with an upstream, unknown names are forwarded and remembered; a silent upstream gives SERVFAIL', async (t) => {
    const upstream = new DnsAnswerer({
      port: 0,
      nameTable: { table: { 'api.partner.example': { ips: ['240.240.7.7'] } } },
    });
    t.after(() => upstream.destroy());
    const up = await upstream.listen();
    const answerer = new DnsAnswerer({ port: 0, nameTable: meshTable, upstream: { host: up.host, port: up.port } });
    t.after(() => answerer.destroy());
    const { port } = await answerer.listen();
    const r = await dig(port, 'api.partner.example', 'A');
    assert.deepEqual(r.answers, ['api.partner.example. A 240.240.7.7']);
    assert.match(r.flags, /\bra\b/);
    assert.equal(answerer.nameForIp('240.240.7.7'), 'api.partner.example');
    assert.equal((await dig(port, '+tcp', 'api.partner.example', 'A')).answers.length, 1);
    assert.equal((await dig(port, 'nothing.partner.example', 'A')).status, 'NXDOMAIN');

    const silent = dgram.createSocket('udp4'); // receives, never answers
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    t.after(() => silent.close());
    const stuck = new DnsAnswerer({
      port: 0,
      upstream: { host: '127.0.0.1', port: silent.address().port, timeoutMs: 200 },
    });
    t.after(() => stuck.destroy());
    const stuckPort = (await stuck.listen()).port;
    assert.equal((await dig(stuckPort, 'api.partner.example', 'A')).status, 'SERVFAIL');
  });

  test('close() stops both transports and can be called twice', async () => {
    const answerer = new DnsAnswerer({ port: 0, nameTable: meshTable });
    const { port } = await answerer.listen();
    assert.equal(answerer.address?.port, port);
    await Promise.all([answerer.close(), answerer.close()]);
    await answerer.destroy();
    assert.equal(await udpQuery(port, buildQuery(1, 'reviews', RecordType.A), 300), undefined);
    await assert.rejects(tcpQuery(port, buildQuery(1, 'reviews', RecordType.A)), /ECONNREFUSED/);
  });

  test('bad options are refused with the field named', () => {
    assert.throws(
      () => new DnsAnswerer({ port: 70000 }),
      (err: Error & { path?: string }) => err.path === 'port',
    );
    assert.throws(
      () => new DnsAnswerer({ host: 'localhost' }),
      (err: Error & { path?: string }) => err.path === 'host',
    );
  });
});
