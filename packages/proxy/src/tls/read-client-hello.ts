/**
 * Reads (and keeps) a connection's first bytes until the TLS ClientHello in them can be parsed,
 * for SNI-based routing. TLS is never terminated: the caller forwards `buffered` first, then the
 * rest of the stream, and the server completes the handshake with the client.
 */
import type net from 'node:net';
import { parseClientHello } from './client-hello.js';

export interface ClientHelloResult {
  /** the first bytes are a TLS handshake record */
  readonly isTls: boolean;
  /** the server_name the client asked for (lower case); undefined if absent or unreadable */
  readonly sni?: string;
  /** the ALPN protocols the client offered, in its order */
  readonly alpn?: string[];
  /** every byte read from the socket; must be sent upstream before anything else */
  readonly buffered: Buffer;
}

/** Default bound on the bytes read while looking for a ClientHello. */
export const MAX_CLIENT_HELLO_BYTES = 16 * 1024;

/**
 * Reads from `socket` until its ClientHello is parsed, the input is clearly not TLS, `maxBytes`
 * are buffered, the socket ends, or `timeoutMs` passes. Non-TLS input is reported as soon as the
 * first byte (or two) show it. Malformed or unfinished TLS → `isTls: true` without `sni`.
 * Never rejects; leaves the socket paused with no listener of its own attached.
 */
export function readClientHello(
  socket: net.Socket,
  timeoutMs: number,
  maxBytes = MAX_CLIENT_HELLO_BYTES,
): Promise<ClientHelloResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: Omit<ClientHelloResult, 'buffered'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      resolve({ ...result, buffered: Buffer.concat(chunks, size) });
    };
    const looksLikeTls = () => size > 0 && chunks[0]![0] === 0x16;
    const decide = (final: boolean) => {
      const data = Buffer.concat(chunks, size);
      const parsed = parseClientHello(data);
      switch (parsed.state) {
        case 'not-tls':
          return finish({ isTls: false });
        case 'malformed':
          return finish({ isTls: true });
        case 'client-hello':
          return finish({
            isTls: true,
            ...(parsed.sni !== undefined ? { sni: parsed.sni } : {}),
            ...(parsed.alpn !== undefined ? { alpn: parsed.alpn } : {}),
          });
        case 'incomplete':
          if (final || size >= maxBytes) return finish({ isTls: looksLikeTls() });
      }
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      decide(false);
    };
    const onEnd = () => decide(true);
    const timer = setTimeout(() => decide(true), timeoutMs);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onEnd);
    socket.once('close', onEnd);
    // The proxy hands over accepted sockets paused; reading needs them flowing until we are done.
    socket.resume();
  });
}
