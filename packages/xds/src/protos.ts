/**
 * Loads the Envoy v3 protos that Sluice speaks. They ship inside the npm package
 * `@grpc/grpc-js-xds` (folder `deps/`); nothing is downloaded.
 *
 * Two views of the same files:
 * - a protobufjs `Root`, used to encode/decode the `google.protobuf.Any` payloads of resources;
 * - a gRPC package definition for the AggregatedDiscoveryService.
 * Both are loaded once per process and shared (they are immutable after load).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { installJsonWrappers } from './json-wrappers.js';

const require = createRequire(import.meta.url);
const depsDir = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');

/** Folders searched for imports, in the order protoc would search them. */
export const includeDirs = [
  path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'protos'),
  path.join(depsDir, 'envoy-api'),
  path.join(depsDir, 'xds'),
  path.join(depsDir, 'googleapis'),
  path.join(depsDir, 'protoc-gen-validate'),
];

/** Every proto file whose messages Sluice generates or consumes. */
export const protoFiles = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/admin/v3/config_dump.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'istio/networking/nds/v1/nds.proto',
];

let root: protobuf.Root | undefined;

/** The protobufjs root holding every type in {@link protoFiles}. Loaded on first use. */
export function protoRoot(): protobuf.Root {
  if (root) return root;
  installJsonWrappers();
  const r = new protobuf.Root();
  r.resolvePath = (_origin: string, target: string) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of includeDirs) {
      const candidate = path.join(dir, target);
      try {
        require('node:fs').accessSync(candidate);
        return candidate;
      } catch {
        /* try next include dir */
      }
    }
    return target;
  };
  r.loadSync(protoFiles, { keepCase: true });
  r.resolveAll();
  root = r;
  return r;
}

let adsDef: grpc.GrpcObject | undefined;

/** gRPC service definition of `envoy.service.discovery.v3.AggregatedDiscoveryService`. */
export function adsService(): grpc.ServiceDefinition {
  if (!adsDef) {
    const def = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: false,
      oneofs: true,
      includeDirs,
    });
    adsDef = grpc.loadPackageDefinition(def);
  }
  // biome-ignore lint/suspicious/noExplicitAny: generated gRPC namespace objects are untyped
  const svc = (adsDef as any).envoy.service.discovery.v3.AggregatedDiscoveryService;
  return svc.service as grpc.ServiceDefinition;
}

/** Client constructor for the ADS service (used by proxies and tests). */
export function adsClientConstructor(): grpc.ServiceClientConstructor {
  adsService();
  // biome-ignore lint/suspicious/noExplicitAny: generated gRPC namespace objects are untyped
  return (adsDef as any).envoy.service.discovery.v3.AggregatedDiscoveryService as grpc.ServiceClientConstructor;
}
