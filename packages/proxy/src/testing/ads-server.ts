/**
 * A tiny real ADS server for tests: accepts streams, records every DiscoveryRequest, and pushes
 * the responses a test asks for. Not a control plane: it sends exactly what it is told.
 */
import * as grpc from '@grpc/grpc-js';
import { adsService, type DiscoveryRequest, type DiscoveryResponse, encodeResource } from '@sluice/xds';

export interface TestAdsServer {
  readonly port: number;
  readonly requests: DiscoveryRequest[];
  /** Sends a response on the newest stream; resolves with the proxy's next request for that type (ACK or NACK). */
  push(typeUrl: string, version: string, resources: object[]): Promise<DiscoveryRequest>;
  waitForStream(): Promise<void>;
  close(): Promise<void>;
}

export async function startAdsServer(): Promise<TestAdsServer> {
  const server = new grpc.Server();
  const requests: DiscoveryRequest[] = [];
  let current: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse> | undefined;
  let nonce = 0;
  const waiters: (() => void)[] = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  server.addService(adsService(), {
    StreamAggregatedResources(call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) {
      current = call;
      call.on('data', (req: DiscoveryRequest) => {
        requests.push(req);
        wake();
      });
      call.on('error', () => {});
      call.on('end', () => call.end());
      wake();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const until = (pred: () => boolean, what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 5000);
      const check = () => {
        if (pred()) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  return {
    port,
    requests,
    waitForStream: () => until(() => current !== undefined && requests.length > 0, 'an ADS stream'),
    async push(typeUrl, version, resources) {
      if (!current) throw new Error('no stream');
      const n = String(++nonce);
      current.write({
        version_info: version,
        type_url: typeUrl,
        nonce: n,
        resources: resources.map((r) => encodeResource(typeUrl, r as Record<string, unknown>)),
      });
      let found: DiscoveryRequest | undefined;
      await until(() => {
        found = requests.find((r) => r.type_url === typeUrl && r.response_nonce === n);
        return found !== undefined;
      }, `the answer to nonce ${n}`);
      return found!;
    },
    close: () =>
      new Promise((resolve) => {
        current?.end();
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 500).unref();
      }),
  };
}
