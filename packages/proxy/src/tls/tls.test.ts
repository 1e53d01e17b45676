import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { parseClientHello } from './client-hello.js';
import { type ClientHelloResult, readClientHello } from './read-client-hello.js';
import { matchServerName } from './server-name.js';

let dir = '';
let key = '';
let cert = '';

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=db.example.com',
      '-addext',
      'subjectAltName=DNS:db.example.com',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  key = fs.readFileSync(path.join(dir, 'key.pem'), 'utf8');
  cert = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A front listener that inspects each connection and reports what readClientHello saw. */
async function inspector(
  t: import('node:test').TestContext,
  onResult: (r: ClientHelloResult, socket: net.Socket) => void,
  timeoutMs = 5000,
): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    void readClientHello(socket, timeoutMs).then((r) => onResult(r, socket));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

/** Captures the raw first flight of a real TLS client. */
async function captureClientHello(t: import('node:test').TestContext, servername: string): Promise<Buffer> {
  let captured: Buffer = Buffer.alloc(0);
  const got = new Promise<void>((resolve) => {
    const server = net.createServer((s) => {
      s.once('data', (d: Buffer) => {
        captured = d;
        s.destroy();
        server.close();
        resolve();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const c = tls.connect({
        port: (server.address() as net.AddressInfo).port,
        host: '127.0.0.1',
        servername,
        ALPNProtocols: ['h2', 'http/1.1'],
      });
      c.on('error', () => {});
      t.after(() => c.destroy());
    });
  });
  await got;
  return captured;
}

test('a real TLS client: SNI and ALPN are read, the buffered bytes complete a handshake with a real server', async (t) => {
  const backend = tls.createServer({ key, cert, ALPNProtocols: ['http/1.1'] }, (s) => s.end(`hello ${s.servername}`));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => backend.close(() => r())));
  const backendPort = (backend.address() as net.AddressInfo).port;
  let seen: ClientHelloResult | undefined;
  const port = await inspector(t, (r, socket) => {
    seen = r;
    const upstream = net.connect(backendPort, '127.0.0.1', () => {
      upstream.write(r.buffered);
      socket.pipe(upstream).pipe(socket);
      socket.resume();
    });
    upstream.on('error', () => socket.destroy());
  });
  const reply = await new Promise<string>((resolve, reject) => {
    const c = tls.connect({
      port,
      host: '127.0.0.1',
      servername: 'db.example.com',
      ca: cert,
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    let text = '';
    c.on('data', (d: Buffer) => {
      text += d.toString();
    });
    c.on('end', () => resolve(text));
    c.on('error', reject);
  });
  assert.equal(reply, 'hello db.example.com', 'the handshake completed end to end through the inspector');
  assert.equal(seen?.isTls, true);
  assert.equal(seen?.sni, 'db.example.com');
  assert.deepEqual(seen?.alpn, ['h2', 'http/1.1']);
});

test('a ClientHello arriving in many small TCP segments is reassembled', async (t) => {
  const hello = await captureClientHello(t, 'split.example.com');
  const result = new Promise<ClientHelloResult>((resolve) => {
    void inspector(t, (r) => resolve(r)).then((port) => {
      const c = net.connect(port, '127.0.0.1');
      c.setNoDelay(true);
      c.on('error', () => {});
      t.after(() => c.destroy());
      let off = 0;
      const step = () => {
        if (off >= hello.length || c.destroyed) return;
        c.write(hello.subarray(off, off + 7));
        off += 7;
        setTimeout(step, 1);
      };
      step();
    });
  });
  const r = await result;
  assert.equal(r.sni, 'split.example.com');
  assert.equal(r.buffered.subarray(0, hello.length).equals(hello), true, 'every byte read is kept, in order');
});

test('a ClientHello split across two TLS records is parsed', async (t) => {
  const hello = await captureClientHello(t, 'records.example.com');
  const payload = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const record = (p: Buffer) => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, p.length >> 8, p.length & 0xff]), p]);
  const cut = 40;
  const twoRecords = Buffer.concat([record(payload.subarray(0, cut)), record(payload.subarray(cut))]);
  const parsed = parseClientHello(twoRecords);
  assert.equal(parsed.state, 'client-hello');
  assert.equal(parsed.state === 'client-hello' && parsed.sni, 'records.example.com');
  assert.equal(parseClientHello(twoRecords.subarray(0, 60)).state, 'incomplete');
});

test('plain text is reported as not TLS after its first byte, without waiting', { timeout: 5000 }, async (t) => {
  const result = new Promise<ClientHelloResult>((resolve) => {
    void inspector(t, (r) => resolve(r), 60_000).then((port) => {
      const c = net.connect(port, '127.0.0.1', () => c.write('G'));
      c.on('error', () => {});
      t.after(() => c.destroy());
    });
  });
  const r = await result;
  assert.equal(r.isTls, false);
  assert.equal(r.sni, undefined);
  assert.equal(r.buffered.toString(), 'G');
});

test('garbage inside a handshake record is TLS without a server name', { timeout: 5000 }, async (t) => {
  const junk = Buffer.concat([
    Buffer.from([0x16, 0x03, 0x01, 0x00, 0x20]),
    Buffer.from([0x01, 0xff, 0xff, 0xff]),
    Buffer.alloc(28, 0x41),
  ]);
  const result = new Promise<ClientHelloResult>((resolve) => {
    void inspector(t, (r) => resolve(r), 60_000).then((port) => {
      const c = net.connect(port, '127.0.0.1', () => c.write(junk));
      c.on('error', () => {});
      t.after(() => c.destroy());
    });
  });
  const r = await result;
  assert.equal(r.isTls, true);
  assert.equal(r.sni, undefined);
  assert.equal(r.buffered.equals(junk), true);
});

test('an unfinished ClientHello ends at the timeout as TLS without a server name', async (t) => {
  const result = new Promise<ClientHelloResult>((resolve) => {
    void inspector(t, (r) => resolve(r), 100).then((port) => {
      const c = net.connect(port, '127.0.0.1', () => c.write(Buffer.from([0x16, 0x03, 0x01, 0x02])));
      c.on('error', () => {});
      t.after(() => c.destroy());
    });
  });
  const r = await result;
  assert.equal(r.isTls, true);
  assert.equal(r.sni, undefined);
  assert.equal(r.buffered.length, 4);
});

test('a length field pointing past its container is malformed, not a crash', () => {
  const hello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x04, 0x03, 0x03, 0xff, 0xff]);
  assert.equal(parseClientHello(hello).state, 'malformed');
  assert.equal(parseClientHello(Buffer.from('\x16\x01')).state, 'not-tls');
  assert.equal(parseClientHello(Buffer.from([0x16])).state, 'incomplete');
  const notHello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x20, 0x41]);
  assert.equal(
    parseClientHello(notHello).state,
    'malformed',
    'a handshake that is not a ClientHello is decided at once',
  );
});

test('matchServerName follows Envoy wildcard rules', () => {
  const cases: [string, string | undefined, boolean][] = [
    ['db.example.com', 'db.example.com', true],
    ['db.example.com', 'DB.Example.com.', true],
    ['db.example.com', 'x.db.example.com', false],
    ['*.example.com', 'db.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'badexample.com', false],
    ['*', 'anything.io', true],
    ['*', undefined, false],
    ['db.example.com', undefined, false],
  ];
  for (const [pattern, sni, want] of cases) assert.equal(matchServerName(pattern, sni), want, `${pattern} vs ${sni}`);
});

test('readClientHello reads from a socket handed over paused (as the proxy accepts them)', async () => {
  let resolve: (h: ClientHelloResult) => void = () => {};
  const promise = new Promise<ClientHelloResult>((r) => {
    resolve = r;
  });
  const srv = net.createServer((s) => {
    s.pause();
    void readClientHello(s, 2000).then((h) => {
      s.destroy();
      resolve(h);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  const c = tls.connect({ host: '127.0.0.1', port, servername: 'paused.example', rejectUnauthorized: false });
  c.on('error', () => {});
  const hello = await promise;
  srv.close();
  assert.equal(hello.isTls, true);
  assert.equal(hello.sni, 'paused.example');
});
