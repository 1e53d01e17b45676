/**
 * Relays bytes between an accepted downstream socket and an upstream connection, both ways:
 * - upstream → downstream reads into one reused 256 KB buffer (`onread`) and pauses the upstream
 *   only when a write to the downstream does not complete at once (the buffer is then still
 *   referenced by the pending write and must not be refilled);
 * - downstream → upstream uses 'data' events and pauses the downstream while the upstream is full;
 * - a FIN on one side is passed on with end() (half-close); the relay ends when both sides closed.
 */
import net from 'node:net';
import { returnReadBuffer, takeReadBuffer } from './read-buffers.js';

export interface RelayOutcome {
  /** Bytes from downstream to upstream. */
  bytesReceived: number;
  /** Bytes from upstream to downstream. */
  bytesSent: number;
  /** Set when the upstream connection failed to establish. */
  connectFailure?: 'timeout' | 'error';
  connectError?: string;
  /** Local address of the upstream socket. */
  upstreamLocal?: string;
  /** Why the relay was cut short by the proxy, if it was. */
  terminatedBy?: string;
}

export interface RelayOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
  /** Bytes already read from the downstream (e.g. a ClientHello), sent first. */
  initialData?: Buffer | undefined;
  keepaliveMs?: number | undefined;
  /** Called once the upstream is connected. */
  onConnected?(): void;
  onDone(outcome: RelayOutcome): void;
}

/** One relayed connection. `terminate(why)` cuts it (both sockets destroyed), idempotent. */
export class TcpRelay {
  readonly #down: net.Socket;
  readonly #up: net.Socket;
  readonly #opts: RelayOptions;
  readonly #buffer: Buffer;
  #connected = false;
  #bytesReceived = 0;
  #bytesSent = 0;
  #upPaused = false;
  #downClosed = false;
  #upClosed = false;
  #done = false;
  #outcome: Partial<RelayOutcome> = {};

  constructor(downstream: net.Socket, opts: RelayOptions) {
    this.#down = downstream;
    this.#opts = opts;
    this.#buffer = takeReadBuffer();
    const up = net.connect({
      host: opts.host,
      port: opts.port,
      allowHalfOpen: true,
      onread: { buffer: this.#buffer, callback: this.#onUpstreamRead },
    });
    this.#up = up;
    up.setTimeout(opts.connectTimeoutMs);
    up.once('timeout', this.#onConnectTimeout);
    up.once('connect', this.#onConnect);
    up.on('error', this.#onUpstreamError);
    up.on('end', this.#onUpstreamEnd);
    up.once('close', this.#onUpstreamClose);
    downstream.on('error', this.#onDownstreamError);
    downstream.once('close', this.#onDownstreamClose);
  }

  get connected(): boolean {
    return this.#connected;
  }

  readonly #onConnectTimeout = (): void => {
    if (this.#connected) return;
    this.#outcome.connectFailure = 'timeout';
    this.#outcome.connectError = `connect timeout after ${this.#opts.connectTimeoutMs} ms`;
    this.terminate();
  };

  readonly #onConnect = (): void => {
    this.#connected = true;
    const up = this.#up;
    const down = this.#down;
    up.setTimeout(0);
    up.removeListener('timeout', this.#onConnectTimeout);
    up.setNoDelay(true);
    if (this.#opts.keepaliveMs !== undefined) up.setKeepAlive(true, this.#opts.keepaliveMs);
    this.#outcome.upstreamLocal = `${up.localAddress}:${up.localPort}`;
    this.#opts.onConnected?.();
    if (this.#opts.initialData && this.#opts.initialData.length > 0) {
      this.#bytesReceived += this.#opts.initialData.length;
      up.write(this.#opts.initialData);
    }
    down.on('data', this.#onDownstreamData);
    down.on('end', this.#onDownstreamEnd);
    // The workload may have sent its FIN while the proxy read the ClientHello: 'end' is then gone.
    if (down.readableEnded) this.#onDownstreamEnd();
    down.resume();
  };

  readonly #onUpstreamRead = (nread: number, buf: Buffer): boolean => {
    this.#bytesSent += nread;
    const down = this.#down;
    down.write(nread === buf.length ? buf : buf.subarray(0, nread), this.#onDownstreamWritten);
    if (down.writableLength > 0) {
      this.#upPaused = true;
      return false;
    }
    return true;
  };

  readonly #onDownstreamWritten = (): void => {
    if (this.#upPaused && this.#down.writableLength === 0 && !this.#done) {
      this.#upPaused = false;
      this.#up.resume();
    }
  };

  readonly #onDownstreamData = (chunk: Buffer): void => {
    this.#bytesReceived += chunk.length;
    if (!this.#up.write(chunk)) {
      this.#down.pause();
      this.#up.once('drain', this.#onUpstreamDrain);
    }
  };

  readonly #onUpstreamDrain = (): void => {
    if (!this.#done) this.#down.resume();
  };

  readonly #onDownstreamEnd = (): void => {
    if (!this.#up.destroyed) this.#up.end();
  };

  readonly #onUpstreamEnd = (): void => {
    if (!this.#down.destroyed) this.#down.end();
  };

  readonly #onUpstreamError = (e: Error): void => {
    if (!this.#connected) {
      this.#outcome.connectFailure = 'error';
      this.#outcome.connectError = e.message;
    }
    this.terminate();
  };

  readonly #onDownstreamError = (): void => {
    this.terminate();
  };

  readonly #onUpstreamClose = (): void => {
    this.#upClosed = true;
    // An upstream that closed while bytes are still queued for the downstream: end after they flush.
    if (!this.#down.destroyed && !this.#down.writableEnded) this.#down.end();
    this.#maybeDone();
  };

  readonly #onDownstreamClose = (): void => {
    this.#downClosed = true;
    if (!this.#up.destroyed) this.#up.destroy();
    this.#maybeDone();
  };

  #maybeDone(): void {
    if (this.#done || !this.#upClosed || !this.#downClosed) return;
    this.#done = true;
    returnReadBuffer(this.#buffer);
    this.#opts.onDone({
      bytesReceived: this.#bytesReceived,
      bytesSent: this.#bytesSent,
      ...this.#outcome,
    });
  }

  /** Ends the relay at once: both sockets destroyed. `why` is recorded in the outcome. */
  terminate(why?: string): void {
    if (why && !this.#outcome.terminatedBy) this.#outcome.terminatedBy = why;
    this.#up.destroy();
    this.#down.destroy();
  }
}
