/**
 * The whole proxy with its L7 modules: TLS connections routed or black-holed by SNI without
 * terminating TLS (a real TLS server behind), and HTTP connections handed to the router (a real
 * HTTP server behind), including the 502 of the REGISTRY_ONLY catch-all virtual host.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { TypeUrl } from '@sluice/xds';
import { startTestProxy } from './testing/harness.js';
import {
  blackHoleCluster,
  httpChain,
  originalDstCluster,
  passthroughCluster,
  portListener,
  staticCluster,
  tcpChain,
  virtualOutbound,
} from './testing/resources.js';

const HOST = '127.0.0.1';
let dir: string;
let key: Buffer;
let cert: Buffer;

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sluice-l7-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=allowed.example',
      '-addext',
      'subjectAltName=DNS:allowed.example,DNS:other.example',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  key = readFileSync(path.join(dir, 'key.pem'));
  cert = readFileSync(path.join(dir, 'cert.pem'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function tlsServer(): Promise<{ server: tls.Server; port: number; handshakes: () => number }> {
  let handshakes = 0;
  const server = tls.createServer({ key, cert }, (s) => {
    handshakes++;
    s.end(`hello ${s.servername}`);
  });
  return new Promise((resolve) =>
    server.listen(0, HOST, () =>
      resolve({ server, port: (server.address() as net.AddressInfo).port, handshakes: () => handshakes }),
    ),
  );
}

/** A TLS client over a socket whose original destination the test proxy is told. `ok`: the handshake completed. */
function tlsThrough(socket: net.Socket, servername: string): Promise<{ ok: boolean; data: string }> {
  return new Promise((resolve) => {
    const c = tls.connect({ socket, servername, ca: cert, rejectUnauthorized: true });
    let data = '';
    let secure = false;
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      c.destroy();
      resolve({ ok: secure, data });
    };
    c.on('secureConnect', () => {
      secure = true;
    });
    c.on('data', (d: Buffer) => {
      data += d;
    });
    c.on('error', done);
    c.on('end', done);
    c.on('close', done);
  });
}

describe('TLS routed by SNI through the proxy', () => {
  test('an allowed server name reaches the real TLS server end to end; another is black-holed before any byte', async (t) => {
    const srv = await tlsServer();
    const tp = await startTestProxy();
    t.after(() => Promise.all([tp.proxy.destroy(), new Promise((r) => srv.server.close(r))]));
    const cluster = 'outbound|443||allowed.example';
    const result = await tp.proxy.applySnapshot({
      listeners: [
        virtualOutbound('REGISTRY_ONLY'),
        portListener('0.0.0.0', srv.port, [
          tcpChain(
            cluster,
            { server_names: ['allowed.example'], transport_protocol: 'tls', destination_port: srv.port },
            { rule: 'ServiceEntry/default/allowed' },
          ),
        ]),
      ],
      clusters: [blackHoleCluster(), originalDstCluster(cluster)],
    });
    assert.deepEqual(result, { accepted: true });

    const good = await tlsThrough(tp.connect({ address: HOST, port: srv.port }), 'allowed.example');
    assert.deepEqual(good, { ok: true, data: 'hello allowed.example' });
    const goodLog = await tp.log.waitFor((e) => e.sni === 'allowed.example');
    assert.equal(goodLog.decision, 'route');
    assert.equal(goodLog.upstream_cluster, cluster);

    const bad = await tlsThrough(tp.connect({ address: HOST, port: srv.port }), 'other.example');
    assert.deepEqual(bad, { ok: false, data: '' }, 'the handshake for an unlisted name never completes');
    const badLog = await tp.log.waitFor((e) => e.sni === 'other.example');
    assert.equal(badLog.decision, 'blackhole');
    assert.equal(badLog.upstream_cluster, 'BlackHoleCluster');
    assert.equal(srv.handshakes(), 1, 'the TLS server only ever saw the allowed connection');
  });
});

describe('HTTP handed to the L7 router', () => {
  let upstream: http.Server;
  let upstreamPort: number;
  const seen: { host?: string; path?: string; requestId?: string }[] = [];

  before(async () => {
    upstream = http.createServer((req, res) => {
      seen.push({ host: req.headers.host, path: req.url, requestId: req.headers['x-request-id'] as string });
      res.end(`served ${req.url}`);
    });
    await new Promise<void>((r) => upstream.listen(0, HOST, r));
    upstreamPort = (upstream.address() as net.AddressInfo).port;
  });
  after(() => new Promise<void>((r) => upstream.close(() => r())));

  function request(socket: net.Socket, host: string, p: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ createConnection: () => socket, host, path: p, headers: { host } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  test('a known host is routed to its cluster; an unknown one gets the 502 of block_all', async (t) => {
    const tp = await startTestProxy();
    t.after(() => tp.proxy.destroy());
    const cluster = `outbound|${upstreamPort}||reviews.default.svc.cluster.local`;
    const result = await tp.proxy.applySnapshot({
      listeners: [
        virtualOutbound('REGISTRY_ONLY'),
        portListener('0.0.0.0', upstreamPort, [httpChain(String(upstreamPort))]),
      ],
      clusters: [
        blackHoleCluster(),
        passthroughCluster(),
        staticCluster(cluster, [{ address: HOST, port: upstreamPort }]),
      ],
      routes: [
        {
          name: String(upstreamPort),
          virtual_hosts: [
            {
              name: `reviews.default.svc.cluster.local:${upstreamPort}`,
              domains: ['reviews', 'reviews.default.svc.cluster.local', `reviews:${upstreamPort}`],
              routes: [{ match: { prefix: '/' }, route: { cluster } }],
            },
            {
              name: 'block_all',
              domains: ['*'],
              routes: [{ name: 'block_all', match: { prefix: '/' }, direct_response: { status: 502 } }],
            },
          ],
        },
      ],
    } as never);
    assert.deepEqual(result, { accepted: true });

    const ok = await request(tp.connect({ address: HOST, port: upstreamPort }), 'reviews', '/reviews/0');
    assert.deepEqual(ok, { status: 200, body: 'served /reviews/0' });
    assert.equal(seen.at(-1)?.path, '/reviews/0');
    assert.ok(seen.at(-1)?.requestId, 'the proxy adds x-request-id like Envoy');
    const okLog = await tp.log.waitFor((e) => e.path === '/reviews/0');
    assert.equal(okLog.upstream_cluster, cluster);
    assert.equal(okLog.response_code, 200);

    const before = seen.length;
    const blocked = await request(tp.connect({ address: HOST, port: upstreamPort }), 'evil.example', '/steal');
    assert.equal(blocked.status, 502);
    assert.equal(seen.length, before, 'the upstream never saw the blocked request');
    const blockedLog = await tp.log.waitFor((e) => e.path === '/steal');
    assert.equal(blockedLog.response_code, 502);
    void TypeUrl;
  });
});
