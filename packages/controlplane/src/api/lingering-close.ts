/**
 * Closing a connection whose request body the server will not read (a 413) without losing the
 * answer. Node's HTTP server ends a `Connection: close` response with `socket.destroySoon()`, which
 * closes the descriptor as soon as the response is written. Bytes the client is still sending then
 * draw a TCP RST, and a client that gets the RST before it has read the response loses the response
 * with it (ECONNRESET instead of the 413). Here the response goes out with `Connection: close`, the
 * server half-closes, keeps reading and discarding what the client still sends (up to a bound, then
 * it stops reading), and closes once the client has closed its side or a grace period is over —
 * the "lingering close" of Apache and the RST-avoidance delay of Go's HTTP server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface LingerOptions {
  /** Longest the connection stays open after the response is written, in ms. */
  graceMs: number;
  /** Most bytes read (and discarded) after the response; past that the server stops reading. */
  maxDiscardBytes: number;
}

export const DEFAULT_LINGER: LingerOptions = { graceMs: 2_000, maxDiscardBytes: 8 * 1024 * 1024 };

/** How often a lingering connection checks its deadline and how much it has read. */
const CHECK_INTERVAL_MS = 20;

/**
 * Marks `res` as the last response on its connection (`Connection: close`) and, once it is written,
 * lingers as described above before destroying the socket. Call before sending the response.
 */
export function closeAfterResponse(req: IncomingMessage, res: ServerResponse, opts = DEFAULT_LINGER): void {
  const socket = req.socket;
  res.setHeader('connection', 'close');
  // Node calls destroySoon() after a `Connection: close` response; here that only half-closes.
  socket.destroySoon = function halfClose(this: Socket) {
    if (this.writable) this.end();
  };
  res.once('finish', () => linger(socket, opts));
}

function linger(socket: Socket, opts: LingerOptions): void {
  if (socket.destroyed) return;
  if (socket.writable) socket.end();
  const startedAt = Date.now();
  const readBefore = socket.bytesRead;
  const close = () => {
    clearInterval(timer);
    socket.destroy();
  };
  const timer = setInterval(() => {
    if (Date.now() - startedAt >= opts.graceMs) close();
    else if (socket.bytesRead - readBefore > opts.maxDiscardBytes) socket.pause();
  }, CHECK_INTERVAL_MS);
  timer.unref();
  socket.once('end', close);
  socket.once('close', () => clearInterval(timer));
}
