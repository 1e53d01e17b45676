import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { type GrpcCall, GrpcStatus, GrpcStreamServer, grpcFrame, percentEncode } from './grpc-transport.js';

const ECHO = '/test.Echo/Stream';

/** A server whose one method echoes every request back in upper case; `onCall` sees each call. */
async function echoServer(onCall: (call: GrpcCall) => void = () => {}) {
  const server = new GrpcStreamServer(
    new Map([
      [
        ECHO,
        {
          deserialize: (b: Buffer) => b.toString('utf8'),
          handler: (call: GrpcCall) => {
            onCall(call);
            call.on('data', (text: string) => {
              if (text === 'fail') call.finish(GrpcStatus.INVALID_ARGUMENT, 'bad request: 100% "fail"');
              else call.writeFrame(grpcFrame(Buffer.from(text.toUpperCase())));
            });
            call.on('end', () => call.end());
          },
        },
      ],
    ]),
    { maxReceiveMessageLength: 1024 },
  );
  const port = await server.listen('127.0.0.1', 0);
  const clients: grpc.Client[] = [];
  after(() => {
    for (const c of clients) c.close();
    server.destroy();
  });
  const call = (path = ECHO, options: grpc.ClientOptions = {}) => {
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options);
    clients.push(client);
    const c = client.makeBidiStreamRequest(
      path,
      (s: string) => Buffer.from(s),
      (b: Buffer) => b.toString(),
    );
    const received: string[] = [];
    c.on('data', (s: string) => received.push(s));
    const status = new Promise<grpc.StatusObject>((resolve) => c.on('status', resolve));
    c.on('error', () => {});
    return { c, received, status };
  };
  return { server, call };
}

describe('gRPC streaming transport (node:http2) with a grpc-js client', () => {
  test('messages flow both ways and a half-close gets status OK', async () => {
    const { call } = await echoServer();
    const { c, received, status } = call();
    c.write('hello');
    c.write('x'.repeat(1000));
    c.end();
    const s = await status;
    assert.equal(s.code, grpc.status.OK);
    assert.deepEqual(received, ['HELLO', 'X'.repeat(1000)]);
  });

  test('an unknown method is UNIMPLEMENTED', async () => {
    const { call } = await echoServer();
    const { c, status } = call('/test.Echo/Nope');
    c.write('hello');
    const s = await status;
    assert.equal(s.code, grpc.status.UNIMPLEMENTED);
    assert.match(s.details, /\/test\.Echo\/Nope/);
  });

  test('an error status reaches the client with its message intact', async () => {
    const { call } = await echoServer();
    const { c, status } = call();
    c.write('fail');
    const s = await status;
    assert.equal(s.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(s.details, 'bad request: 100% "fail"');
    assert.equal(percentEncode('é%'), '%C3%A9%25');
  });

  test('gzip-compressed requests are decoded', async () => {
    const { call } = await echoServer();
    const { c, received, status } = call(ECHO, { 'grpc.default_compression_algorithm': 2 });
    c.write('compressed '.repeat(50));
    c.end();
    assert.equal((await status).code, grpc.status.OK);
    assert.deepEqual(received, ['COMPRESSED '.repeat(50)]);
  });

  test('a request over the size limit ends the call with RESOURCE_EXHAUSTED', async () => {
    const { call } = await echoServer();
    const { c, status } = call();
    c.write('y'.repeat(2000));
    assert.equal((await status).code, grpc.status.RESOURCE_EXHAUSTED);
  });

  test('close() ends open calls with status OK and resolves', async () => {
    const calls: GrpcCall[] = [];
    const { server, call } = await echoServer((c) => calls.push(c));
    const { c, received, status } = call();
    c.write('open');
    while (received.length === 0) await new Promise((r) => setTimeout(r, 5));
    for (const x of calls) x.end();
    await server.close();
    assert.equal((await status).code, grpc.status.OK);
  });

  test('a client cancel is seen by the server as cancelled', async () => {
    let cancelled!: () => void;
    const seen = new Promise<void>((resolve) => {
      cancelled = resolve;
    });
    const { call } = await echoServer((x) => x.on('cancelled', cancelled));
    const { c, received } = call();
    c.write('open');
    while (received.length === 0) await new Promise((r) => setTimeout(r, 5));
    c.cancel();
    await seen;
  });
});
