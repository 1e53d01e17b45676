/**
 * DNS messages in RFC 1035 wire format, by hand: just what the answerer needs (one question, A/AAAA/
 * CNAME answers, the EDNS0 OPT record of RFC 6891). Parsing never throws past `parseMessage`, which
 * reports malformed input as `WireFormatError`.
 */
import { isIPv4, isIPv6 } from 'node:net';

export const RecordType = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, OPT: 41 } as const;
export const Rcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export const CLASS_IN = 1;
/** Classic limit of a DNS message over UDP without EDNS0. */
export const UDP_CLASSIC_LIMIT = 512;

export class WireFormatError extends Error {
  readonly code = 'ERR_DNS_WIRE_FORMAT';
  constructor(message: string) {
    super(message);
    this.name = 'WireFormatError';
  }
}

export interface Header {
  id: number;
  /** true for a response */
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

export interface Question {
  /** Name as written in the message, without the trailing dot (`""` for the root). */
  name: string;
  type: number;
  class: number;
}

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** Raw record data; decoded to `address` for A and AAAA, to `target` for CNAME. */
  data: Buffer;
  address?: string;
  target?: string;
}

export interface Message {
  header: Header;
  questions: Question[];
  answers: ResourceRecord[];
  authorities: ResourceRecord[];
  additionals: ResourceRecord[];
}

export function parseHeader(buf: Buffer): Header {
  if (buf.length < 12) throw new WireFormatError(`message of ${buf.length} bytes is shorter than a header (12)`);
  const flags = buf.readUInt16BE(2);
  return {
    id: buf.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    rcode: flags & 0xf,
    qdcount: buf.readUInt16BE(4),
    ancount: buf.readUInt16BE(6),
    nscount: buf.readUInt16BE(8),
    arcount: buf.readUInt16BE(10),
  };
}

/** Reads a possibly compressed name at `offset`; returns it and the offset just after it. */
export function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  let jumps = 0;
  let length = 0;
  for (;;) {
    if (pos >= buf.length) throw new WireFormatError(`name at offset ${offset} runs past the end of the message`);
    const len = buf[pos]!;
    if (len === 0) {
      pos += 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new WireFormatError(`compression pointer at offset ${pos} is cut off`);
      if (++jumps > 32) throw new WireFormatError(`name at offset ${offset} has a compression loop`);
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new WireFormatError(`label type ${len >> 6} at offset ${pos} is not supported`);
    if (pos + 1 + len > buf.length)
      throw new WireFormatError(`label at offset ${pos} runs past the end of the message`);
    length += len + 1;
    if (length > 255) throw new WireFormatError(`name at offset ${offset} is longer than 255 bytes`);
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return { name: labels.join('.'), next: next < 0 ? pos : next };
}

function readRecord(buf: Buffer, offset: number): { record: ResourceRecord; next: number } {
  const { name, next } = readName(buf, offset);
  if (next + 10 > buf.length) throw new WireFormatError(`record at offset ${offset} is cut off`);
  const type = buf.readUInt16BE(next);
  const rdlength = buf.readUInt16BE(next + 8);
  const start = next + 10;
  if (start + rdlength > buf.length) throw new WireFormatError(`record data at offset ${start} is cut off`);
  const record: ResourceRecord = {
    name,
    type,
    class: buf.readUInt16BE(next + 2),
    ttl: buf.readUInt32BE(next + 4),
    data: buf.subarray(start, start + rdlength),
  };
  if (type === RecordType.A && rdlength === 4) record.address = [...record.data].join('.');
  if (type === RecordType.AAAA && rdlength === 16) record.address = formatIpv6(record.data);
  if (type === RecordType.CNAME) record.target = readName(buf, start).name;
  return { record, next: start + rdlength };
}

/** Parses a whole message; throws `WireFormatError` on anything malformed. */
export function parseMessage(buf: Buffer): Message {
  const header = parseHeader(buf);
  let pos = 12;
  const questions: Question[] = [];
  for (let i = 0; i < header.qdcount; i++) {
    const { name, next } = readName(buf, pos);
    if (next + 4 > buf.length) throw new WireFormatError(`question ${i} is cut off`);
    questions.push({ name, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) });
    pos = next + 4;
  }
  const sections: ResourceRecord[][] = [[], [], []];
  const counts = [header.ancount, header.nscount, header.arcount];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s]!; i++) {
      const { record, next } = readRecord(buf, pos);
      sections[s]!.push(record);
      pos = next;
    }
  }
  return { header, questions, answers: sections[0]!, authorities: sections[1]!, additionals: sections[2]! };
}

/** Encodes a name uncompressed. Labels longer than 63 bytes or names over 255 bytes are refused. */
export function encodeName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of name.split('.').filter((l) => l.length > 0)) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length > 63) throw new WireFormatError(`label "${label}" is longer than 63 bytes`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > 255) throw new WireFormatError(`name ${name} is longer than 255 bytes`);
  return out;
}

export interface AnswerRecord {
  /** Owner name; `undefined` means "the question's name" (written as a pointer to it). */
  name?: string;
  type: number;
  ttl: number;
  /** IP for A/AAAA, target name for CNAME. */
  value: string;
}

export interface ResponseSpec {
  query: Header;
  question: Question | undefined;
  rcode: number;
  authoritative: boolean;
  recursionAvailable: boolean;
  answers: readonly AnswerRecord[];
  /** Include an EDNS0 OPT record advertising this UDP payload size. */
  ednsUdpSize?: number;
  truncated?: boolean;
}

/** Builds a response: header, the question echoed, answers, and the OPT record when asked. */
export function buildResponse(spec: ResponseSpec): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(spec.query.id, 0);
  let flags = 0x8000 | ((spec.query.opcode & 0xf) << 11) | (spec.rcode & 0xf);
  if (spec.authoritative) flags |= 0x0400;
  if (spec.truncated) flags |= 0x0200;
  if (spec.query.rd) flags |= 0x0100;
  if (spec.recursionAvailable) flags |= 0x0080;
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(spec.question ? 1 : 0, 4);
  const answers = spec.truncated ? [] : spec.answers;
  header.writeUInt16BE(answers.length, 6);
  header.writeUInt16BE(0, 8);
  header.writeUInt16BE(spec.ednsUdpSize === undefined ? 0 : 1, 10);
  parts.push(header);
  if (spec.question) {
    const q = Buffer.alloc(4);
    q.writeUInt16BE(spec.question.type, 0);
    q.writeUInt16BE(spec.question.class, 2);
    parts.push(encodeName(spec.question.name), q);
  }
  for (const answer of answers) {
    parts.push(answer.name === undefined && spec.question ? Buffer.from([0xc0, 12]) : encodeName(answer.name ?? ''));
    const rdata = encodeRdata(answer);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(answer.type, 0);
    fixed.writeUInt16BE(CLASS_IN, 2);
    fixed.writeUInt32BE(answer.ttl >>> 0, 4);
    fixed.writeUInt16BE(rdata.length, 8);
    parts.push(fixed, rdata);
  }
  if (spec.ednsUdpSize !== undefined) {
    const opt = Buffer.alloc(11);
    opt.writeUInt8(0, 0); // root name
    opt.writeUInt16BE(RecordType.OPT, 1);
    opt.writeUInt16BE(spec.ednsUdpSize, 3); // class carries the UDP payload size
    opt.writeUInt32BE(0, 5); // extended rcode, version 0, flags
    opt.writeUInt16BE(0, 9);
    parts.push(opt);
  }
  return Buffer.concat(parts);
}

function encodeRdata(answer: AnswerRecord): Buffer {
  if (answer.type === RecordType.A) {
    if (!isIPv4(answer.value)) throw new WireFormatError(`A record value ${answer.value} is not an IPv4 address`);
    return Buffer.from(answer.value.split('.').map(Number));
  }
  if (answer.type === RecordType.AAAA) {
    if (!isIPv6(answer.value)) throw new WireFormatError(`AAAA record value ${answer.value} is not an IPv6 address`);
    return parseIpv6(answer.value);
  }
  if (answer.type === RecordType.CNAME) return encodeName(answer.value);
  throw new WireFormatError(`record type ${answer.type} cannot be encoded`);
}

/** 16 bytes of an IPv6 address (accepts `::`, and a dotted IPv4 tail). */
export function parseIpv6(text: string): Buffer {
  let head = text;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(head);
  if (v4) {
    const octets = v4[1]!.split('.').map(Number);
    tail.push((octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!);
    head = head.slice(0, -v4[1]!.length);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const [left, right] = head.split('::') as [string, string | undefined];
  const words = (s: string | undefined) =>
    (s ? s.split(':').filter((w) => w.length > 0) : []).map((w) => Number.parseInt(w, 16));
  const l = words(left);
  const r = [...words(right), ...tail];
  const groups = right === undefined ? [...l, ...tail] : [...l, ...new Array(8 - l.length - r.length).fill(0), ...r];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    out.writeUInt16BE(g, i * 2);
  });
  return out;
}

export function formatIpv6(bytes: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  // longest run of zero groups (length >= 2) becomes "::"
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** EDNS0 UDP payload size the query advertises, or `undefined` when it has no OPT record. */
export function ednsUdpSize(message: Message): number | undefined {
  const opt = message.additionals.find((r) => r.type === RecordType.OPT);
  return opt === undefined ? undefined : Math.max(UDP_CLASSIC_LIMIT, opt.class);
}

/** Builds a query (used by tests and by clients of the answerer). */
export function buildQuery(id: number, name: string, type: number, options: { ednsUdpSize?: number } = {}): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(options.ednsUdpSize === undefined ? 0 : 1, 10);
  const q = Buffer.alloc(4);
  q.writeUInt16BE(type, 0);
  q.writeUInt16BE(CLASS_IN, 2);
  const parts = [header, encodeName(name), q];
  if (options.ednsUdpSize !== undefined) {
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(RecordType.OPT, 1);
    opt.writeUInt16BE(options.ednsUdpSize, 3);
    parts.push(opt);
  }
  return Buffer.concat(parts);
}
