import net from 'node:net';
import { CaptureOptionsError, HostSetupError } from '../errors.js';

export interface TcpForwarderOptions {
  /** Where to listen, in the host namespace; usually the mesh bridge address, e.g. `10.233.77.1`. */
  listenHost: string;
  /** Port to listen on (0 picks one). */
  listenPort: number;
  /** Where to connect for each accepted connection, e.g. `127.0.0.1:5432`. */
  target: string;
}

/** A running forwarder. `close()` stops accepting and ends open pairs; `destroy()` drops them. Both idempotent. */
export interface TcpForwarder {
  readonly host: string;
  readonly port: number;
  readonly target: { host: string; port: number };
  /** Number of connection pairs currently open. */
  readonly connections: number;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * Makes a server that listens only on the host's loopback (PostgreSQL, Redis) reachable from the mesh:
 * a byte relay in the host namespace listening on the bridge address, forwarding each connection to
 * `target`. A namespace cannot reach the host's 127.0.0.1, and the bridge address is routed from every
 * host on the mesh, so this is where "outside the mesh" services live for tests and demos.
 */
export async function startTcpForwarder(options: TcpForwarderOptions): Promise<TcpForwarder> {
  if (!net.isIP(options.listenHost)) throw new CaptureOptionsError('listenHost', 'must be an IP address');
  if (!Number.isInteger(options.listenPort) || options.listenPort < 0 || options.listenPort > 65535) {
    throw new CaptureOptionsError('listenPort', 'must be an integer port 0-65535');
  }
  const m = /^(.+):(\d{1,5})$/.exec(options.target ?? '');
  const targetHost = m?.[1]?.replace(/^\[(.*)\]$/, '$1') ?? '';
  const targetPort = Number(m?.[2]);
  if (!m || !net.isIP(targetHost) || targetPort < 1 || targetPort > 65535) {
    throw new CaptureOptionsError(
      'target',
      `must be "<ip>:<port>" like 127.0.0.1:5432, got ${JSON.stringify(options.target)}`,
    );
  }
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: targetHost, port: targetPort });
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', () => open.delete(client));
    upstream.on('close', () => open.delete(upstream));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.listenPort, options.listenHost, () => resolve());
    });
  } catch (err) {
    throw new HostSetupError(`forwarder on ${options.listenHost}:${options.listenPort} to ${options.target}`, err);
  }
  const address = server.address() as net.AddressInfo;
  let closing: Promise<void> | undefined;
  const shutdown = (force: boolean) => {
    for (const socket of open) {
      if (force) socket.destroy();
      else socket.end();
    }
    closing ??= new Promise<void>((resolve) => server.close(() => resolve()));
    return closing;
  };
  return {
    host: options.listenHost,
    port: address.port,
    target: { host: targetHost, port: targetPort },
    get connections() {
      return Math.ceil(open.size / 2);
    },
    close: () => shutdown(false),
    destroy: () => shutdown(true),
  };
}
