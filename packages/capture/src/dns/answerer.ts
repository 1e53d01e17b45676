import dgram from 'node:dgram';
import net from 'node:net';
import { CaptureOptionsError } from '../errors.js';
import { CompiledNameTable, type DnsScope, type NameTable } from './name-table.js';
import { RecentAnswers } from './recent-answers.js';
import { forwardQuery, type UpstreamResolver } from './upstream.js';
import {
  type AnswerRecord,
  buildResponse,
  CLASS_IN,
  ednsUdpSize,
  type Header,
  type Message,
  parseHeader,
  parseMessage,
  Rcode,
  RecordType,
  UDP_CLASSIC_LIMIT,
} from './wire.js';

export interface DnsAnswererOptions {
  /** Address to listen on (default `127.0.0.1`). */
  host?: string;
  /** Port for both UDP and TCP (default 15053; 0 picks a free port used for both). */
  port?: number;
  /** Kubernetes namespace of the workload (default `default`): short names and search suffixes. */
  namespace?: string;
  /** Default `cluster.local`. */
  clusterDomain?: string;
  /** Initial name table (default: empty). */
  nameTable?: NameTable;
  /** Where to forward names the table does not know; without it they get NXDOMAIN. */
  upstream?: UpstreamResolver;
  /** How many IP → name answers to remember for `nameForIp` (default 4096). */
  rememberedAnswers?: number;
  /** TTL of answers, seconds (default 30, as Istio's DNS proxy). */
  ttl?: number;
  /** Idle TCP connections are closed after this long (default 10 s). */
  tcpIdleTimeoutMs?: number;
}

/** Counters of what the answerer did; a live view, read-only for callers. */
export interface DnsAnswererStats {
  queries: number;
  answered: number;
  nxdomain: number;
  forwarded: number;
  truncated: number;
  malformed: number;
}

/** UDP payload size this answerer advertises in EDNS0 (the DNS flag day 2020 value). */
const OUR_EDNS_SIZE = 1232;
const MAX_TCP_CONNECTIONS = 256;
/** Largest UDP reply sent even when a client advertises more. */
const MAX_UDP_REPLY = 4096;

/**
 * The sidecar's DNS answerer (Istio's DNS proxy): answers A and AAAA queries over UDP and TCP from
 * the mesh's name table, NXDOMAIN (or the upstream's answer) for other names, and remembers which name
 * it answered for which IP. `close()` and `destroy()` are idempotent.
 */
export class DnsAnswerer {
  private table: CompiledNameTable;
  private readonly scope: DnsScope;
  private readonly recent: RecentAnswers;
  private readonly options: Required<Pick<DnsAnswererOptions, 'host' | 'port' | 'ttl' | 'tcpIdleTimeoutMs'>>;
  private readonly upstream: UpstreamResolver | undefined;
  private udp: dgram.Socket | undefined;
  private tcp: net.Server | undefined;
  private readonly connections = new Set<net.Socket>();
  private closing: Promise<void> | undefined;
  readonly stats: DnsAnswererStats = { queries: 0, answered: 0, nxdomain: 0, forwarded: 0, truncated: 0, malformed: 0 };

  constructor(options: DnsAnswererOptions = {}) {
    const port = options.port ?? 15053;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new CaptureOptionsError('port', `must be an integer 0-65535, got ${JSON.stringify(port)}`);
    }
    const host = options.host ?? '127.0.0.1';
    if (!net.isIP(host)) throw new CaptureOptionsError('host', `must be an IP address, got ${JSON.stringify(host)}`);
    this.options = { host, port, ttl: options.ttl ?? 30, tcpIdleTimeoutMs: options.tcpIdleTimeoutMs ?? 10_000 };
    this.scope = { namespace: options.namespace ?? 'default', clusterDomain: options.clusterDomain ?? 'cluster.local' };
    this.table = new CompiledNameTable(options.nameTable ?? {}, this.scope);
    this.recent = new RecentAnswers(options.rememberedAnswers ?? 4096);
    this.upstream = options.upstream;
  }

  /** Binds UDP and TCP on the same port. Resolves with the address both listen on. */
  async listen(): Promise<{ host: string; port: number }> {
    if (this.udp) throw new Error('DnsAnswerer is already listening');
    const { host } = this.options;
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(this.options.port, host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      const port = udp.address().port;
      const tcp = net.createServer((socket) => this.onTcpConnection(socket));
      tcp.maxConnections = MAX_TCP_CONNECTIONS;
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, host, () => {
            tcp.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        udp.close();
        // with port 0 the UDP port may be taken for TCP by someone else: pick another
        if (this.options.port === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 10) continue;
        throw err;
      }
      udp.on('message', (msg, rinfo) => this.onUdpMessage(udp, msg, rinfo));
      udp.on('error', () => undefined);
      this.udp = udp;
      this.tcp = tcp;
      return { host, port };
    }
  }

  /** The address listened on, once `listen()` resolved. */
  get address(): { host: string; port: number } | undefined {
    return this.udp ? { host: this.options.host, port: this.udp.address().port } : undefined;
  }

  /**
   * Replaces the name table (Istio NDS shape). A malformed table throws `NameTableError` naming the
   * field and leaves the current table in place.
   */
  setNameTable(table: NameTable): void {
    this.table = new CompiledNameTable(table, this.scope);
  }

  /** The host name this answerer last gave out for `ip`, if it still remembers it. */
  nameForIp(ip: string): string | undefined {
    return this.recent.get(net.isIPv6(ip) ? ip.toLowerCase() : ip);
  }

  /** Stops listening, lets TCP queries in flight finish, ends idle connections. */
  close(): Promise<void> {
    this.closing ??= this.shutdown(false);
    return this.closing;
  }

  /** Stops at once, dropping open TCP connections. */
  destroy(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    this.closing ??= this.shutdown(true);
    return this.closing;
  }

  private async shutdown(force: boolean): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
    for (const socket of this.connections) {
      if (force) socket.destroy();
      else socket.end();
    }
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }

  private onUdpMessage(udp: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.respond(msg, 'udp').then(
      (reply) => {
        if (reply && !this.closing) udp.send(reply, rinfo.port, rinfo.address, () => undefined);
      },
      () => undefined,
    );
  }

  private onTcpConnection(socket: net.Socket): void {
    this.connections.add(socket);
    socket.setTimeout(this.options.tcpIdleTimeoutMs, () => socket.end());
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => undefined);
    let buffered: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (length < 12) {
          this.stats.malformed++;
          socket.destroy();
          return;
        }
        if (buffered.length < 2 + length) return;
        const query = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        this.respond(query, 'tcp').then(
          (reply) => {
            if (!reply || socket.destroyed) return;
            const prefix = Buffer.alloc(2);
            prefix.writeUInt16BE(reply.length, 0);
            socket.write(Buffer.concat([prefix, reply]));
          },
          () => undefined,
        );
      }
    });
  }

  /** Builds the reply to one query; `undefined` means "send nothing" (not a query at all). */
  private async respond(query: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    let header: Header;
    try {
      header = parseHeader(query);
    } catch {
      this.stats.malformed++;
      return undefined;
    }
    if (header.qr) {
      this.stats.malformed++;
      return undefined; // a response sent to us: never answer it (no loops)
    }
    this.stats.queries++;
    let message: Message;
    try {
      message = parseMessage(query);
    } catch {
      this.stats.malformed++;
      return this.reply(header, undefined, Rcode.FORMERR, [], undefined, transport);
    }
    const edns = ednsUdpSize(message);
    const question = message.questions[0];
    if (header.opcode !== 0) return this.reply(header, question, Rcode.NOTIMP, [], edns, transport);
    if (message.questions.length !== 1 || !question)
      return this.reply(header, question, Rcode.FORMERR, [], edns, transport);
    if (question.class !== CLASS_IN) return this.reply(header, question, Rcode.NOTIMP, [], edns, transport);

    const found = this.table.lookup(question.name);
    if (!found.found) {
      if (this.upstream) return this.forward(query, question.name, transport, header, edns);
      this.stats.nxdomain++;
      return this.reply(header, question, Rcode.NXDOMAIN, [], edns, transport);
    }
    const answers: AnswerRecord[] = [];
    const ttl = this.options.ttl;
    const owner = found.cnameFrom === undefined ? undefined : found.name;
    if (found.cnameFrom !== undefined) answers.push({ type: RecordType.CNAME, ttl, value: found.name });
    const ips =
      question.type === RecordType.A
        ? found.addresses.ipv4
        : question.type === RecordType.AAAA
          ? found.addresses.ipv6
          : [];
    const type = question.type === RecordType.AAAA ? RecordType.AAAA : RecordType.A;
    for (const value of ips) {
      answers.push(owner === undefined ? { type, ttl, value } : { name: owner, type, ttl, value });
      this.recent.remember(value, found.name);
    }
    this.stats.answered++;
    return this.reply(header, question, Rcode.NOERROR, answers, edns, transport);
  }

  private reply(
    header: Header,
    question: Message['questions'][number] | undefined,
    rcode: number,
    answers: AnswerRecord[],
    edns: number | undefined,
    transport: 'udp' | 'tcp',
  ): Buffer {
    const spec = {
      query: header,
      question,
      rcode,
      authoritative: rcode === Rcode.NOERROR || rcode === Rcode.NXDOMAIN,
      recursionAvailable: this.upstream !== undefined,
      answers,
      ...(edns === undefined ? {} : { ednsUdpSize: OUR_EDNS_SIZE }),
    };
    const full = buildResponse(spec);
    // over UDP a reply may be as large as the client says it can take (RFC 6891), 512 bytes without EDNS0
    const limit = edns === undefined ? UDP_CLASSIC_LIMIT : Math.min(edns, MAX_UDP_REPLY);
    if (transport === 'tcp' || full.length <= limit) return full;
    this.stats.truncated++;
    return buildResponse({ ...spec, truncated: true });
  }

  private async forward(
    query: Buffer,
    asked: string,
    transport: 'udp' | 'tcp',
    header: Header,
    edns: number | undefined,
  ): Promise<Buffer> {
    this.stats.forwarded++;
    try {
      const reply = await forwardQuery(this.upstream!, query, transport);
      const parsed = parseMessage(reply);
      for (const record of parsed.answers) {
        if (record.address !== undefined) this.recent.remember(record.address, asked.toLowerCase().replace(/\.$/, ''));
      }
      const relayed = Buffer.from(reply);
      relayed[3] = relayed[3]! | 0x80; // RA: recursion is available through this answerer
      return relayed;
    } catch {
      return this.reply(header, parseMessage(query).questions[0], Rcode.SERVFAIL, [], edns, transport);
    }
  }
}
