/**
 * Simulated proxies for the push benchmark: N real gRPC ADS streams from this one process, each on
 * its own HTTP/2 connection (as N sidecars would have), started by push.ts with `fork()`.
 *
 * What each simulated proxy does, as a Sluice proxy (or Envoy) would on the wire:
 * - state of the world (`sotw`): one StreamAggregatedResources stream; wildcard requests for CDS, LDS
 *   and NDS, a named EDS request for the clusters given; every response is ACKed at once with its
 *   version, nonce and the same resource names.
 * - incremental (`delta`): one DeltaAggregatedResources stream; wildcard subscriptions (`*`) for CDS,
 *   LDS and NDS, a named EDS subscription; every response is ACKed at once with its nonce.
 *
 * What it does not do: decode the resources (a real proxy decodes and applies them). The response is
 * read only for type, version, nonce and resource counts, so the figures measure the control plane
 * and the transport, not protobuf decoding in the simulator.
 *
 * IPC: sends `{ event: 'connected' }` once every stream is open; answers `{ cmd: 'stats' }` with
 * `{ event: 'stats', responses, bytes, ... }` (totals so far); `{ cmd: 'close' }` ends every stream,
 * sends the stats and exits.
 */
import * as grpc from '@grpc/grpc-js';
import { adsClientConstructor, TypeUrl } from '@sluice/xds';
import protobuf from 'protobufjs';
import { toStruct } from '../../packages/controlplane/src/xds/ads-client.js';
import { stringField } from '../../packages/controlplane/src/xds/wire.js';

export interface SimOptions {
  mode: 'sotw' | 'delta';
  address: string;
  ids: string[];
  /** LABELS per proxy (same index as ids). */
  labels: Record<string, string>[];
  edsNames: string[];
}

interface LightResponse {
  version: string;
  typeUrl: string;
  nonce: string;
  resources: number;
  removed: number;
  bytes: number;
}

/** DiscoveryResponse: version_info 1, resources 2, type_url 4, nonce 5. */
function decodeSotw(buf: Buffer): LightResponse {
  const r = protobuf.Reader.create(buf);
  const out: LightResponse = { version: '', typeUrl: '', nonce: '', resources: 0, removed: 0, bytes: buf.length };
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1) out.version = r.string();
    else if (field === 4) out.typeUrl = r.string();
    else if (field === 5) out.nonce = r.string();
    else {
      if (field === 2) out.resources++;
      r.skipType(tag & 7);
    }
  }
  return out;
}

/** DeltaDiscoveryResponse: system_version_info 1, resources 2, type_url 4, nonce 5, removed_resources 6. */
function decodeDelta(buf: Buffer): LightResponse {
  const r = protobuf.Reader.create(buf);
  const out: LightResponse = { version: '', typeUrl: '', nonce: '', resources: 0, removed: 0, bytes: buf.length };
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1) out.version = r.string();
    else if (field === 4) out.typeUrl = r.string();
    else if (field === 5) out.nonce = r.string();
    else {
      if (field === 2) out.resources++;
      else if (field === 6) out.removed++;
      r.skipType(tag & 7);
    }
  }
  return out;
}

const WILDCARD = [TypeUrl.Cluster, TypeUrl.Listener, TypeUrl.NameTable];
const SOTW = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const DELTA = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';

const stats = { responses: 0, bytes: 0, resources: 0, removed: 0, errors: 0, firstError: '' };

function open(opts: SimOptions, i: number): { client: grpc.Client; call: grpc.ClientDuplexStream<unknown, unknown> } {
  const service = adsClientConstructor().service;
  const client = new grpc.Client(opts.address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
    'grpc.use_local_subchannel_pool': 1,
  });
  const node = {
    id: opts.ids[i],
    metadata: toStruct({ NAMESPACE: 'default', LABELS: opts.labels[i] ?? {} }),
  };
  const delta = opts.mode === 'delta';
  const def = (delta ? service.DeltaAggregatedResources : service.StreamAggregatedResources) as grpc.MethodDefinition<
    unknown,
    LightResponse
  >;
  // ACKs are encoded by hand (they are the bulk of what the simulator sends); the rest by proto-loader.
  const serialize = (m: unknown) => (m instanceof Buffer ? m : def.requestSerialize(m));
  const call = client.makeBidiStreamRequest(delta ? DELTA : SOTW, serialize, delta ? decodeDelta : decodeSotw);
  const edsNames = opts.edsNames;
  const edsNameFields = Buffer.concat(edsNames.map((n) => stringField(3, n)));
  call.on('data', (r: LightResponse) => {
    stats.responses++;
    stats.bytes += r.bytes;
    stats.resources += r.resources;
    stats.removed += r.removed;
    if (delta) {
      // DeltaDiscoveryRequest {type_url 2, response_nonce 6}
      call.write(Buffer.concat([stringField(2, r.typeUrl), stringField(6, r.nonce)]));
    } else {
      // DiscoveryRequest {version_info 1, resource_names 3, type_url 4, response_nonce 5}
      const names = r.typeUrl === TypeUrl.ClusterLoadAssignment ? edsNameFields : Buffer.alloc(0);
      call.write(Buffer.concat([stringField(1, r.version), names, stringField(4, r.typeUrl), stringField(5, r.nonce)]));
    }
  });
  call.on('error', (e: Error) => {
    if ((e as { code?: number }).code === grpc.status.CANCELLED) return;
    stats.errors++;
    stats.firstError ||= e.message;
  });
  call.on('status', () => {});
  if (delta) {
    call.write({ node, type_url: TypeUrl.Cluster, resource_names_subscribe: ['*'] });
    for (const t of WILDCARD.slice(1)) call.write({ type_url: t, resource_names_subscribe: ['*'] });
    if (edsNames.length > 0) {
      call.write({ type_url: TypeUrl.ClusterLoadAssignment, resource_names_subscribe: edsNames });
    }
  } else {
    call.write({ node, type_url: TypeUrl.Cluster });
    for (const t of WILDCARD.slice(1)) call.write({ type_url: t });
    if (edsNames.length > 0) call.write({ type_url: TypeUrl.ClusterLoadAssignment, resource_names: edsNames });
  }
  return { client, call };
}

function main(): void {
  const opts = JSON.parse(process.argv[2] ?? '{}') as SimOptions;
  const conns: ReturnType<typeof open>[] = [];
  for (let i = 0; i < opts.ids.length; i++) conns.push(open(opts, i));
  process.send?.({ event: 'connected', n: conns.length });
  const close = () => {
    for (const c of conns) {
      c.call.cancel();
      c.client.close();
    }
    process.send?.({ event: 'stats', ...stats }, () => process.exit(0));
  };
  process.on('message', (m: { cmd?: string }) => {
    if (m.cmd === 'stats') process.send?.({ event: 'stats', ...stats });
    if (m.cmd === 'close') close();
  });
  process.on('disconnect', () => process.exit(0));
}

main();
