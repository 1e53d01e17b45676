import http from 'node:http';

/** Handles one request; a rejected promise becomes a 500 (or a reset once headers are out). */
export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

export class InvalidPortError extends Error {
  readonly code = 'BOOKINFO_INVALID_PORT';
  constructor(source: string, value: string) {
    super(`invalid port ${JSON.stringify(value)} from ${source}: expected an integer from 0 to 65535`);
  }
}

/** The listening port: the first command-line argument, else env PORT, else 9080 (as in the images). */
export function listenPort(argv: readonly string[], env: NodeJS.ProcessEnv): number {
  const fromArgv = argv[2];
  const [source, raw] =
    fromArgv !== undefined
      ? ['argv[1]', fromArgv]
      : env.PORT !== undefined
        ? ['env PORT', env.PORT]
        : ['default', '9080'];
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) throw new InvalidPortError(source, raw);
  return Number(raw);
}

const GRACE_MS = 5000;

/**
 * Runs an HTTP service the way the original containers do: one port on every address, a log
 * line per request, and a graceful stop on SIGTERM/SIGINT (in-flight requests get 5 s).
 * Prints `<name> listening on port <port>` once bound, so callers using port 0 learn the port.
 */
export function runService(name: string, handler: RequestHandler): http.Server {
  let port: number;
  try {
    port = listenPort(process.argv, process.env);
  } catch (err) {
    console.error(`${name}: ${(err as Error).message}`);
    process.exit(2);
  }
  const server = http.createServer((req, res) => {
    console.log(`${req.method} ${req.url}`);
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err: unknown) => {
        console.error(`${name}: ${req.method} ${req.url} failed: ${(err as Error).message}`);
        if (!res.headersSent) {
          res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end('Internal Server Error\n');
        } else {
          res.destroy();
        }
      });
  });
  server.on('error', (err) => {
    console.error(`${name}: cannot listen on port ${port}: ${err.message}`);
    process.exit(1);
  });
  server.listen(port, () => {
    const address = server.address();
    const bound = typeof address === 'object' && address !== null ? address.port : port;
    console.log(`${name} listening on port ${bound}`);
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${name}: ${signal} received, stopping`);
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => {
      server.closeAllConnections();
      process.exit(0);
    }, GRACE_MS).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return server;
}
