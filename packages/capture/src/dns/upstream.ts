import dgram from 'node:dgram';
import net from 'node:net';
import { parseHeader } from './wire.js';

/** A resolver the answerer forwards unknown names to. */
export interface UpstreamResolver {
  host: string;
  /** Default 53. */
  port?: number;
  /** Per-query timeout (default 2000 ms). */
  timeoutMs?: number;
}

/**
 * Sends `query` to the upstream and resolves with its reply, unchanged. UDP first; a truncated UDP
 * reply is retried over TCP when the client itself asked over TCP.
 */
export async function forwardQuery(
  upstream: UpstreamResolver,
  query: Buffer,
  transport: 'udp' | 'tcp',
): Promise<Buffer> {
  const reply = await overUdp(upstream, query);
  if (transport === 'tcp' && parseHeader(reply).tc) return overTcp(upstream, query);
  return reply;
}

function overUdp(upstream: UpstreamResolver, query: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(upstream.host) ? 'udp6' : 'udp4');
    const id = query.readUInt16BE(0);
    const timer = setTimeout(
      () => finish(new Error(`upstream ${upstream.host} did not answer in time`)),
      upstream.timeoutMs ?? 2000,
    );
    const finish = (err: Error | undefined, reply?: Buffer) => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(reply!);
    };
    socket.on('error', (err) => finish(err));
    socket.on('message', (msg) => {
      if (msg.length >= 12 && msg.readUInt16BE(0) === id) finish(undefined, msg);
    });
    socket.send(query, upstream.port ?? 53, upstream.host);
  });
}

function overTcp(upstream: UpstreamResolver, query: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: upstream.host, port: upstream.port ?? 53 });
    socket.setTimeout(upstream.timeoutMs ?? 2000, () =>
      socket.destroy(new Error(`upstream ${upstream.host} did not answer in time`)),
    );
    let buffered: Buffer = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('connect', () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(query.length, 0);
      socket.write(Buffer.concat([prefix, query]));
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        resolve(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
        socket.end();
      }
    });
    socket.on('close', () => reject(new Error(`upstream ${upstream.host} closed the connection without an answer`)));
  });
}
