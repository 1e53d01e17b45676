import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the capture server received it. */
export interface CapturedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** How the capture server answers a path prefix. */
export type Behaviour = { kind: 'json'; status?: number; body: unknown; delayMs?: number } | { kind: 'reset' };

/**
 * A real HTTP server on 127.0.0.1 standing in for an upstream: it records every request and answers
 * by path prefix with what the test set. `close()` is idempotent.
 */
export class CaptureServer {
  readonly requests: CapturedRequest[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly server: http.Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed: Promise<void> | undefined;

  private constructor(private readonly defaults: ReadonlyMap<string, Behaviour>) {
    this.server = http.createServer((req, res) => this.answer(req, res));
    this.reset();
  }

  static async start(defaults: Record<string, Behaviour> = {}): Promise<CaptureServer> {
    const capture = new CaptureServer(new Map(Object.entries(defaults)));
    await new Promise<void>((resolve) => capture.server.listen(0, '127.0.0.1', resolve));
    return capture;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Sets how requests whose path starts with `prefix` are answered. */
  on(prefix: string, behaviour: Behaviour): void {
    this.behaviours.set(prefix, behaviour);
  }

  /** Forgets recorded requests and restores the default behaviours. */
  reset(): void {
    this.requests.length = 0;
    this.behaviours.clear();
    for (const [prefix, behaviour] of this.defaults) this.behaviours.set(prefix, behaviour);
  }

  /** Requests whose path starts with `prefix`. */
  requestsTo(prefix: string): CapturedRequest[] {
    return this.requests.filter((r) => r.url.startsWith(prefix));
  }

  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      for (const timer of this.timers) clearTimeout(timer);
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closed;
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    this.requests.push({ method: req.method ?? 'GET', url, headers: req.headers });
    const match = [...this.behaviours]
      .filter(([prefix]) => url.startsWith(prefix))
      .sort((a, b) => b[0].length - a[0].length)[0];
    const behaviour = match?.[1];
    if (behaviour === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    if (behaviour.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    const send = () => {
      const body = JSON.stringify(behaviour.body);
      res.writeHead(behaviour.status ?? 200, { 'Content-Type': 'application/json' });
      res.end(body);
    };
    if (behaviour.delayMs === undefined) {
      send();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!res.destroyed) send();
    }, behaviour.delayMs);
    this.timers.add(timer);
  }
}

/** A loopback port with nothing listening on it (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
