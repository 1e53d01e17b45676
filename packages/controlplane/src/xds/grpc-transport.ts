/**
 * A minimal gRPC server for bidirectional-streaming methods, directly on `node:http2` (the ADS
 * methods are the only ones the xDS server serves). It speaks gRPC over HTTP/2 as the spec says:
 * a call is a POST with `content-type: application/grpc…`; messages both ways are length-prefixed
 * (1-byte compressed flag, 4-byte big-endian length) and may span or share DATA frames; the
 * response is headers (`:status 200`, `content-type: application/grpc`), messages, then trailers
 * with `grpc-status` (and a percent-encoded `grpc-message`). An unknown method gets a trailers-only
 * UNIMPLEMENTED; a non-POST 405, a non-gRPC content type 415. Compressed requests are accepted
 * with `grpc-encoding` gzip or deflate; responses are never compressed.
 *
 * Why not @grpc/grpc-js' server: every message there goes through several stream layers, promises
 * and a copy into a new framed buffer. Here a response is written as one pre-framed buffer that
 * every stream sent the same response shares, and a request is decoded and handed over in the same
 * tick it is read. It also owns its sessions and sockets, so `destroy()` can drop them all.
 */
import { EventEmitter } from 'node:events';
import http2 from 'node:http2';
import type net from 'node:net';
import zlib from 'node:zlib';

export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** grpc-message encoding: bytes outside printable ASCII, and '%', as %XX of their UTF-8. */
export function percentEncode(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out +=
      byte < 0x20 || byte > 0x7e || byte === 0x25
        ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(byte);
  }
  return out;
}

/** A serialized message with its 5-byte gRPC prefix, ready to write. */
export function grpcFrame(message: Uint8Array, extra?: Uint8Array): Buffer {
  const len = message.length + (extra?.length ?? 0);
  const out = Buffer.allocUnsafe(5 + len);
  out[0] = 0;
  out.writeUInt32BE(len, 1);
  out.set(message, 5);
  if (extra) out.set(extra, 5 + message.length);
  return out;
}

/**
 * One server-side call. Events: `data` (a decoded request), `end` (the client half-closed),
 * `cancelled` (the client reset the stream or the connection went away), `close` (the stream is
 * gone, whichever way).
 */
export class GrpcCall extends EventEmitter {
  #done = false;
  #status: { code: number; message: string } = { code: GrpcStatus.OK, message: '' };

  constructor(readonly stream: http2.ServerHttp2Stream) {
    super();
  }

  /** True once the call was ended by the server. */
  get done(): boolean {
    return this.#done;
  }

  /** Writes one pre-framed message (see {@link grpcFrame}). */
  writeFrame(frame: Buffer): void {
    if (this.#done || this.stream.destroyed) return;
    this.stream.write(frame);
  }

  /** Holds writes until {@link uncork}, which passes them to HTTP/2 as one write (writev). */
  cork(): void {
    if (!this.#done && !this.stream.destroyed) this.stream.cork();
  }

  uncork(): void {
    if (this.stream.writableCorked > 0) this.stream.uncork();
  }

  /** Ends the call with status OK. */
  end(): void {
    this.finish(GrpcStatus.OK, '');
  }

  /** Ends the call with `code` and `message` in the trailers. */
  finish(code: number, message: string): void {
    if (this.#done) return;
    this.#done = true;
    this.#status = { code, message };
    if (this.stream.destroyed || this.stream.closed) return;
    this.stream.end();
  }

  /** Sends the trailers once the stream asks for them. */
  sendTrailers(): void {
    const { code, message } = this.#status;
    const trailers: http2.OutgoingHttpHeaders = { 'grpc-status': String(code) };
    if (message) trailers['grpc-message'] = percentEncode(message);
    try {
      this.stream.sendTrailers(trailers);
    } catch {
      // The stream went away in between.
    }
  }
}

export interface GrpcMethod {
  /** Decodes one request message; throws if it is malformed. */
  deserialize(bytes: Buffer): unknown;
  /** Called once per new call. */
  handler(call: GrpcCall): void;
}

export interface GrpcServerOptions {
  /** Largest request message accepted; larger ends the call with RESOURCE_EXHAUSTED. */
  maxReceiveMessageLength: number;
}

export class GrpcStreamServer {
  readonly #servers: http2.Http2Server[] = [];
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  readonly #sockets = new Set<net.Socket>();

  constructor(
    readonly methods: Map<string, GrpcMethod>,
    readonly opts: GrpcServerOptions,
  ) {}

  /** Listens on `host:port` (0 = pick one); resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    const server = http2.createServer({
      // In megabytes. Responses queued for a slow proxy must not make nghttp2 give up on its
      // session (grpc-js' server sets no limit either).
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      settings: { initialWindowSize: 1 << 20 },
    });
    server.on('connection', (socket: net.Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    server.on('session', (session) => {
      this.#sessions.add(session);
      session.once('close', () => this.#sessions.delete(session));
      session.on('error', () => {});
      session.on('connect', () => session.setLocalWindowSize(1 << 20));
    });
    server.on('stream', (stream, headers) => this.#onStream(stream, headers));
    this.#servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        server.on('error', () => {});
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  #onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => {});
    if (headers[':method'] !== 'POST') {
      stream.respond({ ':status': 405 }, { endStream: true });
      return;
    }
    if (!String(headers['content-type'] ?? '').startsWith('application/grpc')) {
      stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    const trailersOnly = (code: number, message: string) =>
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': String(code),
          'grpc-message': percentEncode(message),
        },
        { endStream: true },
      );
    const method = this.methods.get(String(headers[':path']));
    if (!method) {
      trailersOnly(GrpcStatus.UNIMPLEMENTED, `method ${headers[':path']} is not implemented`);
      return;
    }
    const encoding = String(headers['grpc-encoding'] ?? 'identity');
    const inflate =
      encoding === 'gzip'
        ? zlib.gunzipSync
        : encoding === 'deflate'
          ? zlib.inflateSync
          : encoding === 'identity'
            ? undefined
            : null;
    if (inflate === null) {
      trailersOnly(GrpcStatus.UNIMPLEMENTED, `grpc-encoding ${encoding} is not supported`);
      return;
    }
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc', 'grpc-accept-encoding': 'identity,deflate,gzip' },
      { waitForTrailers: true },
    );
    const call = new GrpcCall(stream);
    stream.on('wantTrailers', () => call.sendTrailers());
    let chunks: Buffer[] = [];
    let buffered = 0;
    let need = -1;
    let compressed = false;
    const take = (n: number): Buffer => {
      const first = chunks[0] as Buffer;
      let out: Buffer;
      if (first.length >= n) {
        out = first.subarray(0, n);
        if (first.length === n) chunks.shift();
        else chunks[0] = first.subarray(n);
      } else {
        const all = Buffer.concat(chunks, buffered);
        out = all.subarray(0, n);
        chunks = buffered > n ? [all.subarray(n)] : [];
      }
      buffered -= n;
      return out;
    };
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      buffered += chunk.length;
      while (!call.done) {
        if (need < 0) {
          if (buffered < 5) return;
          const head = take(5);
          compressed = head[0] === 1;
          need = head.readUInt32BE(1);
          if (need > this.opts.maxReceiveMessageLength) {
            call.finish(GrpcStatus.RESOURCE_EXHAUSTED, `request of ${need} bytes exceeds the limit`);
            stream.pause();
            return;
          }
          if (compressed && !inflate) {
            call.finish(GrpcStatus.INTERNAL, 'compressed request without grpc-encoding');
            stream.pause();
            return;
          }
        }
        if (buffered < need) return;
        let bytes = take(need);
        need = -1;
        let req: unknown;
        try {
          if (compressed && inflate) bytes = inflate(bytes);
          req = method.deserialize(bytes);
        } catch (err) {
          call.finish(GrpcStatus.INTERNAL, `cannot decode request: ${(err as Error).message}`);
          stream.pause();
          return;
        }
        call.emit('data', req);
      }
    });
    stream.on('end', () => call.emit('end'));
    stream.on('aborted', () => call.emit('cancelled'));
    stream.on('close', () => {
      if (stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) call.emit('cancelled');
      call.emit('close');
    });
    method.handler(call);
  }

  /** Stops accepting connections and closes every session once its streams are done. */
  close(): Promise<void> {
    const waits: Promise<void>[] = this.#servers.map((s) => new Promise((resolve) => s.close(() => resolve())));
    for (const session of this.#sessions) {
      waits.push(new Promise((resolve) => session.close(() => resolve())));
    }
    return Promise.all(waits).then(() => {});
  }

  /** Stops at once: every session and socket is destroyed. */
  destroy(): void {
    for (const s of this.#servers) s.close();
    for (const session of this.#sessions) session.destroy();
    for (const socket of this.#sockets) socket.destroy();
    this.#sessions.clear();
    this.#sockets.clear();
  }
}
