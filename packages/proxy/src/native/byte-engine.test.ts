import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { readAll, startServer, startTestProxy } from '../testing/harness.js';
import { blackHoleCluster, portListener, staticCluster, tcpChain, virtualOutbound } from '../testing/resources.js';
import { ByteEngine, type PairEnd } from './byte-engine.js';

const HOST = '127.0.0.1';
const openFds = () => readdirSync('/proc/self/fd').length;

async function settle(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('native byte path', () => {
  test('no fd leaks: relayed, black-holed, refused and handed-over (SNI port) connections all give their fds back', async (t) => {
    const echo = await startServer(HOST, (s) => s.pipe(s));
    const refused = await startServer(HOST, () => {});
    const refusedPort = refused.port;
    await refused.close(); // nothing listens there any more: connect is refused
    t.after(() => echo.close());
    await new Promise((r) => setTimeout(r, 50));
    const before = openFds();
    const tp = await startTestProxy({ byteEngine: 'native' });
    assert.equal(tp.proxy.byteEngine, 'native');
    await tp.proxy.applySnapshot({
      listeners: [
        virtualOutbound('REGISTRY_ONLY'),
        portListener('0.0.0.0', echo.port, [tcpChain('echo')]),
        portListener('0.0.0.0', refusedPort, [tcpChain('gone')]),
        // A port that matches on SNI: the ClientHello is read in JavaScript, so the fd is handed over.
        portListener('0.0.0.0', 4444, [
          tcpChain('sni-only', { server_names: ['a.example'] }),
          tcpChain('echo', {}, { name: 'plain' }),
        ]),
      ],
      clusters: [
        staticCluster('echo', [{ address: HOST, port: echo.port }]),
        staticCluster('gone', [{ address: HOST, port: refusedPort }]),
        staticCluster('sni-only', [{ address: HOST, port: refusedPort }]),
        blackHoleCluster(),
      ],
    });
    const rounds = 20;
    for (let i = 0; i < rounds; i++) {
      const c = tp.connect({ address: '10.233.90.60', port: echo.port });
      const got = readAll(c);
      c.end(`ping ${i}`);
      assert.equal((await got).toString(), `ping ${i}`);
      assert.equal((await readAll(tp.connect({ address: '10.233.90.61', port: 9 }))).length, 0);
      assert.equal((await readAll(tp.connect({ address: '10.233.90.62', port: refusedPort }))).length, 0);
      const sniPort = tp.connect({ address: '10.233.90.63', port: 4444 });
      const sniGot = readAll(sniPort);
      sniPort.end('not tls');
      assert.equal((await sniGot).toString(), 'not tls');
    }
    await settle(() => tp.log.entries.length >= rounds * 4, 'every access-log line');
    assert.equal(tp.log.entries.filter((e) => e.route_name === 'plain').length, rounds);
    const refusedLine = tp.log.entries.find((e) => e.upstream_cluster === 'gone');
    assert.equal(refusedLine?.response_flags, 'UF');
    assert.match(refusedLine?.response_code_details ?? '', /connect ECONNREFUSED/);
    await tp.proxy.destroy();
    await settle(() => openFds() <= before, `fds back to ${before} (now ${openFds()})`);
  });

  test('bulk both ways: every byte arrives in order, half-close holds, counts are exact', async (t) => {
    const size = 24 * 1024 * 1024;
    const pattern = (seed: number) => {
      const b = Buffer.allocUnsafe(size);
      for (let i = 0; i < size; i += 4) b.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
      return b;
    };
    const up = pattern(7);
    const down = pattern(11);
    // The server answers with its own bulk only after the client's upload ended (half-close).
    const srv = await startServer(HOST, (s) => {
      const chunks: Buffer[] = [];
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('end', () => {
        const got = Buffer.concat(chunks);
        s.end(Buffer.concat([Buffer.from(got.equals(up) ? 'same' : 'diff'), down]));
      });
    });
    t.after(() => srv.close());
    const tp = await startTestProxy({ byteEngine: 'native' });
    t.after(() => tp.proxy.destroy());
    await tp.proxy.applySnapshot({
      listeners: [virtualOutbound('REGISTRY_ONLY'), portListener('0.0.0.0', srv.port, [tcpChain('bulk')])],
      clusters: [staticCluster('bulk', [{ address: HOST, port: srv.port }]), blackHoleCluster()],
    });
    const c = tp.connect({ address: '10.233.90.70', port: srv.port });
    const reply = readAll(c);
    c.end(up);
    const got = await reply;
    assert.equal(got.subarray(0, 4).toString(), 'same', 'the upstream received the upload byte for byte');
    assert.ok(got.subarray(4).equals(down), 'the client received the download byte for byte');
    const e = await tp.log.waitFor((x) => x.upstream_cluster === 'bulk');
    assert.deepEqual([e.bytes_received, e.bytes_sent], [size, size + 4]);
  });

  test('max_downstream_connection_duration closes a busy connection', async () => {
    const srv = await startServer(HOST, (s) => s.pipe(s));
    after(() => srv.close());
    const tp = await startTestProxy({ byteEngine: 'native' });
    after(() => tp.proxy.destroy());
    await tp.proxy.applySnapshot({
      listeners: [
        virtualOutbound('REGISTRY_ONLY'),
        portListener('0.0.0.0', srv.port, [tcpChain('limited', {}, { max_duration: '0.300s' })]),
      ],
      clusters: [staticCluster('limited', [{ address: HOST, port: srv.port }]), blackHoleCluster()],
    });
    const c = tp.connect({ address: '10.233.90.64', port: srv.port });
    const ticker = setInterval(() => c.writable && c.write('tick'), 50);
    await readAll(c);
    clearInterval(ticker);
    const e = await tp.log.waitFor((x) => x.upstream_cluster === 'limited');
    assert.equal(e.response_code_details, 'max_downstream_connection_duration');
    assert.ok(e.bytes_sent > 0, 'bytes flowed before the limit');
  });

  test('adopt: two sockets connected in JavaScript are relayed by the thread, half-close included, fds given back', async (t) => {
    const engine = ByteEngine.acquire();
    assert.ok(engine, 'the byte relay addon is built');
    t.after(() => engine.release());
    const srv = await startServer(HOST, (s) => {
      const chunks: Buffer[] = [];
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('end', () => s.end(`got:${Buffer.concat(chunks).toString()}`));
    });
    t.after(() => srv.close());
    const front = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
    front.listen(0, HOST);
    await once(front, 'listening');
    t.after(() => front.close());
    const before = openFds();
    const client = net.connect({ host: HOST, port: (front.address() as net.AddressInfo).port, allowHalfOpen: true });
    const [down] = (await once(front, 'connection')) as [net.Socket];
    const up = net.connect({ host: HOST, port: srv.port, allowHalfOpen: true });
    await once(up, 'connect');
    const fd = (s: net.Socket) => (s as unknown as { _handle: { fd: number } })._handle.fd;
    const ended = new Promise<PairEnd>((resolve) => {
      engine.adopt(fd(down), fd(up), { idleTimeoutMs: 0, maxDurationMs: 0 }, resolve);
    });
    down.destroy();
    up.destroy();
    const reply = readAll(client);
    client.end('hello');
    assert.equal((await reply).toString(), 'got:hello');
    const end = await ended;
    assert.deepEqual([end.reason, end.bytesReceived, end.bytesSent], ['closed', 5, 9]);
    await settle(() => openFds() <= before, `fds back to ${before} (now ${openFds()})`);
  });
});
