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
 * Two gRPC clients, chosen by `client`:
 * - `http2` (default): gRPC spoken directly over `node:http2`, one session (TCP connection) per
 *   proxy. A stream is a POST to the ADS method with `content-type: application/grpc` and
 *   `te: trailers`; every message, both ways, is a gRPC length-prefixed message (1-byte compressed
 *   flag, always 0, then a 4-byte big-endian length) that may span DATA frames and share them; the
 *   response headers must say `:status 200` and `application/grpc`, and trailers with a
 *   `grpc-status` other than 0 (or a stream or session error) count as an error. The HTTP/2 windows
 *   are 16 MiB per stream and per connection (Envoy's defaults are larger still, 256 MiB).
 * - `grpc-js`: a `@grpc/grpc-js` client per proxy, as the Sluice proxy's ADS client uses. Its
 *   per-message client path (call layers, stream decoder) costs several times what `http2` does.
 *
 * First requests are encoded by the ADS proto definition; ACKs are encoded by hand (they are the bulk
 * of what the simulator sends). What it does not do: decode the resources (a real proxy decodes and
 * applies them). A response is read only for type, version, nonce and resource counts, so the figures
 * measure the control plane and the transport, not protobuf decoding in the simulator.
 *
 * IPC: sends `{ event: 'connected' }` once every stream is open; answers `{ cmd: 'stats' }` with
 * `{ event: 'stats', responses, bytes, ..., cpuMs }` (totals so far); `{ cmd: 'profile-start' }` and
 * `{ cmd: 'profile-stop', file }` CPU-profile this process (answered with `{ event: 'profiled' }`);
 * `{ cmd: 'close' }` ends every stream, sends the stats and exits.
 */
import { writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import { Session } from 'node:inspector';
import * as grpc from '@grpc/grpc-js';
import { adsClientConstructor, TypeUrl } from '@sluice/xds';
import protobuf from 'protobufjs';
import { toStruct } from '../../packages/controlplane/src/xds/ads-client.js';
import { stringField } from '../../packages/controlplane/src/xds/wire.js';

export interface SimOptions {
  mode: 'sotw' | 'delta';
  client: 'http2' | 'grpc-js';
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

/**
 * DiscoveryResponse (version_info 1, resources 2, type_url 4, nonce 5) or DeltaDiscoveryResponse
 * (system_version_info 1, resources 2, type_url 4, nonce 5, removed_resources 6).
 */
function decodeLight(buf: Uint8Array): LightResponse {
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
const WINDOW = 16 << 20;

const stats = { responses: 0, bytes: 0, resources: 0, removed: 0, errors: 0, firstError: '' };

/** CPU time (user + system) this process has used, in ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function fail(message: string): void {
  stats.errors++;
  stats.firstError ||= message;
}

/** The first requests of a stream, as objects for the proto serializer. */
function firstRequests(opts: SimOptions, i: number): object[] {
  const node = { id: opts.ids[i], metadata: toStruct({ NAMESPACE: 'default', LABELS: opts.labels[i] ?? {} }) };
  const eds = opts.edsNames;
  if (opts.mode === 'delta') {
    const out: object[] = WILDCARD.map((t) => ({ type_url: t, resource_names_subscribe: ['*'] }));
    if (eds.length > 0) out.push({ type_url: TypeUrl.ClusterLoadAssignment, resource_names_subscribe: eds });
    out[0] = { node, ...out[0] };
    return out;
  }
  const out: object[] = WILDCARD.map((t) => ({ type_url: t }));
  if (eds.length > 0) out.push({ type_url: TypeUrl.ClusterLoadAssignment, resource_names: eds });
  out[0] = { node, ...out[0] };
  return out;
}

const typeUrlFields = new Map<string, Buffer>();

/**
 * The ACK of a response, encoded by hand into one buffer with room for the 5-byte gRPC prefix in
 * front (filled in; `subarray(5)` is the bare message). Delta: DeltaDiscoveryRequest {type_url 2,
 * response_nonce 6}. State of the world: DiscoveryRequest {version_info 1, resource_names 3 (EDS
 * only), type_url 4, response_nonce 5}.
 */
function ackFrame(opts: SimOptions, r: LightResponse, edsNameFields: Buffer): Buffer {
  const delta = opts.mode === 'delta';
  const typeKey = `${delta}${r.typeUrl}`;
  let typeField = typeUrlFields.get(typeKey);
  if (!typeField) {
    typeField = stringField(delta ? 2 : 4, r.typeUrl);
    typeUrlFields.set(typeKey, typeField);
  }
  const nonce = Buffer.from(r.nonce, 'utf8');
  const version = delta ? undefined : Buffer.from(r.version, 'utf8');
  const names = !delta && r.typeUrl === TypeUrl.ClusterLoadAssignment ? edsNameFields : undefined;
  if (nonce.length > 127 || (version?.length ?? 0) > 127) {
    throw new Error('nonce or version longer than a one-byte length');
  }
  const len =
    typeField.length +
    (nonce.length > 0 ? 2 + nonce.length : 0) +
    (version && version.length > 0 ? 2 + version.length : 0) +
    (names ? names.length : 0);
  const out = Buffer.allocUnsafe(5 + len);
  out[0] = 0;
  out.writeUInt32BE(len, 1);
  let at = 5;
  if (version && version.length > 0) {
    out[at++] = (1 << 3) | 2;
    out[at++] = version.length;
    at += version.copy(out, at);
  }
  if (names) at += names.copy(out, at);
  at += typeField.copy(out, at);
  if (nonce.length > 0) {
    out[at++] = ((delta ? 6 : 5) << 3) | 2;
    out[at++] = nonce.length;
    at += nonce.copy(out, at);
  }
  return out;
}

function count(r: LightResponse): void {
  stats.responses++;
  stats.bytes += r.bytes;
  stats.resources += r.resources;
  stats.removed += r.removed;
}

interface Conn {
  close(): void;
}

function serializerFor(opts: SimOptions): (m: unknown) => Buffer {
  const service = adsClientConstructor().service;
  const def = opts.mode === 'delta' ? service.DeltaAggregatedResources : service.StreamAggregatedResources;
  if (!def) throw new Error('ADS service definition without the method');
  return (m) => (m instanceof Buffer ? m : (def.requestSerialize(m) as Buffer));
}

function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.allocUnsafe(5);
  head[0] = 0;
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** gRPC over node:http2: one session and one stream per proxy. */
function openHttp2(opts: SimOptions, i: number, edsNameFields: Buffer): Conn {
  const serialize = serializerFor(opts);
  const session = http2.connect(`http://${opts.address}`, {
    settings: { initialWindowSize: WINDOW, enablePush: false },
  });
  session.on('connect', () => session.setLocalWindowSize(WINDOW));
  session.on('error', (e) => fail(`session: ${e.message}`));
  const req = session.request(
    {
      ':method': 'POST',
      ':path': opts.mode === 'delta' ? DELTA : SOTW,
      'content-type': 'application/grpc',
      te: 'trailers',
    },
    { endStream: false },
  );
  let closing = false;
  req.on('response', (headers) => {
    const status = headers[':status'];
    const type = String(headers['content-type'] ?? '');
    if (status !== 200 || !type.startsWith('application/grpc')) fail(`response :status ${status} ${type}`);
    // A trailers-only response (an immediate error) carries grpc-status in the headers.
    if (headers['grpc-status'] !== undefined && headers['grpc-status'] !== '0') {
      fail(`grpc-status ${headers['grpc-status']}: ${headers['grpc-message'] ?? ''}`);
    }
  });
  req.on('trailers', (trailers) => {
    if (!closing && trailers['grpc-status'] !== '0') {
      fail(`grpc-status ${trailers['grpc-status']}: ${trailers['grpc-message'] ?? ''}`);
    }
  });
  req.on('error', (e) => {
    if (!closing) fail(`stream: ${e.message}`);
  });
  // Length-prefixed message reassembly: a message may span chunks and a chunk may hold several.
  let chunks: Buffer[] = [];
  let buffered = 0;
  let need = -1;
  const take = (n: number): Buffer => {
    const first = chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) chunks.shift();
      else chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(chunks, buffered);
      out = all.subarray(0, n);
      chunks = buffered > n ? [all.subarray(n)] : [];
    }
    buffered -= n;
    return out;
  };
  req.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    buffered += chunk.length;
    for (;;) {
      if (need < 0) {
        if (buffered < 5) return;
        const head = take(5);
        if (head[0] !== 0) {
          fail('compressed message');
          return;
        }
        need = head.readUInt32BE(1);
      }
      if (buffered < need) return;
      const message = take(need);
      need = -1;
      const r = decodeLight(message);
      count(r);
      req.write(ackFrame(opts, r, edsNameFields));
    }
  });
  for (const m of firstRequests(opts, i)) req.write(grpcFrame(serialize(m)));
  return {
    close() {
      closing = true;
      req.close(http2.constants.NGHTTP2_CANCEL);
      session.close();
    },
  };
}

/** A @grpc/grpc-js client per proxy. */
function openGrpcJs(opts: SimOptions, i: number, edsNameFields: Buffer): Conn {
  const client = new grpc.Client(opts.address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
    'grpc.use_local_subchannel_pool': 1,
  });
  const call = client.makeBidiStreamRequest(opts.mode === 'delta' ? DELTA : SOTW, serializerFor(opts), (b: Buffer) =>
    decodeLight(b),
  );
  call.on('data', (r: LightResponse) => {
    count(r);
    call.write(ackFrame(opts, r, edsNameFields).subarray(5));
  });
  call.on('error', (e: Error) => {
    if ((e as { code?: number }).code === grpc.status.CANCELLED) return;
    fail(e.message);
  });
  call.on('status', () => {});
  for (const m of firstRequests(opts, i)) call.write(m);
  return {
    close() {
      call.cancel();
      client.close();
    },
  };
}

function main(): void {
  const opts = JSON.parse(process.argv[2] ?? '{}') as SimOptions;
  const edsNameFields = Buffer.concat(opts.edsNames.map((n) => stringField(3, n)));
  const open = opts.client === 'grpc-js' ? openGrpcJs : openHttp2;
  const conns: Conn[] = [];
  for (let i = 0; i < opts.ids.length; i++) conns.push(open(opts, i, edsNameFields));
  process.send?.({ event: 'connected', n: conns.length });
  let profiler: Session | undefined;
  const post = (method: string) =>
    new Promise<unknown>((resolve, reject) => profiler?.post(method, (err, res) => (err ? reject(err) : resolve(res))));
  const close = () => {
    for (const c of conns) c.close();
    process.send?.({ event: 'stats', ...stats, cpuMs: cpuMs() }, () => process.exit(0));
  };
  process.on('message', async (m: { cmd?: string; file?: string }) => {
    if (m.cmd === 'stats') process.send?.({ event: 'stats', ...stats, cpuMs: cpuMs() });
    if (m.cmd === 'close') close();
    if (m.cmd === 'profile-start') {
      profiler = new Session();
      profiler.connect();
      await post('Profiler.enable');
      await post('Profiler.start');
      process.send?.({ event: 'profiled' });
    }
    if (m.cmd === 'profile-stop' && profiler) {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      if (m.file) writeFileSync(m.file, JSON.stringify(profile));
      profiler.disconnect();
      profiler = undefined;
      process.send?.({ event: 'profiled' });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

main();
