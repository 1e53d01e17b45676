/**
 * A raw TCP upstream on 127.0.0.1 that records every byte each connection sends it, reads them with
 * the strict oracle (strict-http.ts), answers each complete request with `200 served <target>`, and
 * notes every stream the oracle calls malformed. It never trusts Node's HTTP parser.
 */
import net from 'node:net';
import { type ParsedRequest, parseRequestStream } from './strict-http.js';

export interface UpstreamConnection {
  bytes: Buffer;
  requests: ParsedRequest[];
  /** Why the oracle refused this connection's bytes, if it did. */
  malformed?: string;
}

export interface RecordingUpstream {
  readonly port: number;
  readonly connections: UpstreamConnection[];
  /** Every request received on every connection, in arrival order per connection. */
  requests(): ParsedRequest[];
  totalBytes(): number;
  close(): Promise<void>;
}

export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const connections: UpstreamConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const conn: UpstreamConnection = { bytes: Buffer.alloc(0), requests: [] };
    connections.push(conn);
    let answered = 0;
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (d: Buffer) => {
      conn.bytes = Buffer.concat([conn.bytes, d]);
      const parsed = parseRequestStream(conn.bytes);
      conn.requests = parsed.requests;
      if (!parsed.ok) {
        conn.malformed = parsed.error;
        socket.destroy();
        return;
      }
      for (; answered < parsed.requests.length; answered++) {
        const body = `served ${parsed.requests[answered]!.target}`;
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    requests: () => connections.flatMap((c) => c.requests),
    totalBytes: () => connections.reduce((n, c) => n + c.bytes.length, 0),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
