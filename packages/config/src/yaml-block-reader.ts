/**
 * A fast reader for the YAML subset Kubernetes manifests are written in: block mappings and
 * sequences, single-line plain and quoted scalars, `[]`/`{}`, comments and `---` separators.
 * It builds each document's value and the line of every field path in one pass over the text,
 * resolving scalars exactly as the `yaml` package's core schema does.
 *
 * It declines (returns undefined) whenever a document uses anything else — anchors, aliases,
 * tags, block or multi-line scalars, flow collections, escapes, tabs, explicit keys, keys that are
 * not strings, duplicate keys, or anything the `yaml` package would report as a problem — so the
 * caller hands that document to the `yaml` package and the outcome is the same either way.
 */
import { DeferredLineTable } from './lines.js';
import { childPath } from './paths.js';
import type { RawDocument } from './yaml-documents.js';

/** Thrown (one shared instance, no stack) when the document leaves the supported subset. */
const DECLINE: { readonly decline: true } = Object.freeze({ decline: true });

/** One document of a stream: `[start, end)` of the text, with the 1-based line of `start`. */
export interface YamlSegment {
  start: number;
  end: number;
  line: number;
  /** True when the segment opens with a `---` line (otherwise it is the stream's leading part). */
  marked: boolean;
}

/** Characters the reader leaves to the `yaml` package wherever they appear (CR only in CRLF). */
const UNSUPPORTED_CHARS = /[\t\u0085\u2028\u2029\uFEFF]|\r(?!\n)/;
const LONE_CR = /\r(?!\n)/;

/**
 * Splits a stream at its `---` lines (LF or CRLF line ends). Undefined when the stream uses what
 * this splitter does not model (directives, `...` document ends, a carriage return not followed
 * by a line feed, tabs or other odd characters next to a marker): the whole stream then goes to
 * the `yaml` package.
 */
export function splitYamlStream(text: string): YamlSegment[] | undefined {
  if (LONE_CR.test(text)) return undefined;
  const segments: YamlSegment[] = [];
  let current: YamlSegment = { start: 0, end: text.length, line: 1, marked: false };
  let line = 1;
  for (let ls = 0; ls < text.length; line++) {
    let le = text.indexOf('\n', ls);
    if (le < 0) le = text.length;
    const c = text.charCodeAt(ls);
    if (c === 0x25 /* % */) return undefined;
    if ((c === 0x2d /* - */ || c === 0x2e) /* . */ && le - ls >= 3) {
      const three = text.startsWith('---', ls) ? '---' : text.startsWith('...', ls) ? '...' : '';
      if (three !== '') {
        const after = le === ls + 3 ? 0x0a : text.charCodeAt(ls + 3);
        if (after === 0x0a || after === 0x20 || after === 0x0d) {
          if (three === '...') return undefined;
          current.end = ls;
          segments.push(current);
          current = { start: ls, end: text.length, line, marked: true };
        } else if (after === 0x09 || after === 0xfeff || after === 0x85 || after === 0x2028 || after === 0x2029)
          return undefined;
      }
    }
    ls = le + 1;
  }
  segments.push(current);
  return segments;
}

const SPACE = 0x20;
const HASH = 0x23;
const COLON = 0x3a;
const DASH = 0x2d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const OPEN_SEQ = 0x5b;
const CLOSE_SEQ = 0x5d;
const OPEN_MAP = 0x7b;
const CLOSE_MAP = 0x7d;
const COMMA = 0x2c;

/** Core-schema scalar patterns of the `yaml` package (schema/core), in its resolution order. */
const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/**
 * Whether a plain scalar may start with `c` here. Indicators (and `-`, `?`, `:` even where YAML
 * would allow them before a non-space) are left to the `yaml` package; callers allow `-` before
 * a non-space for values such as `-1`.
 */
function plainMayStart(c: number): boolean {
  switch (c) {
    case HASH:
    case 0x26: // &
    case 0x2a: // *
    case 0x21: // !
    case 0x7c: // |
    case 0x3e: // >
    case 0x25: // %
    case 0x40: // @
    case 0x60: // `
    case COMMA:
    case OPEN_SEQ:
    case CLOSE_SEQ:
    case OPEN_MAP:
    case CLOSE_MAP:
    case 0x3f: // ?
    case COLON:
    case DQUOTE:
    case SQUOTE:
    case 0x5c: // backslash: fine in YAML, but rare enough to leave to the library
      return false;
    default:
      return true;
  }
}

function isFlowBreak(c: number): boolean {
  return c === SPACE || c === COMMA || c === OPEN_SEQ || c === CLOSE_SEQ || c === OPEN_MAP || c === CLOSE_MAP;
}

/** First characters after which a plain scalar can only be a string (most keys and values). */
function surelyString(c: number): boolean {
  // letters except n N t T f F (null/true/false), and characters no number or null starts with
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a))
    return c !== 0x6e && c !== 0x4e && c !== 0x74 && c !== 0x54 && c !== 0x66 && c !== 0x46;
  return c === 0x2f /* / */ || c === 0x5f /* _ */ || c === 0x24 /* $ */ || c >= 0x80;
}

/** The value the `yaml` package's core schema gives a plain scalar. */
export function resolvePlainScalar(s: string): unknown {
  if (s.length > 0 && surelyString(s.charCodeAt(0))) return s;
  if (NULL.test(s)) return null;
  if (BOOL.test(s)) return s[0] === 't' || s[0] === 'T';
  if (INT_OCT.test(s)) return Number.parseInt(s.substring(2), 8);
  if (INT.test(s)) return Number.parseInt(s, 10);
  if (INT_HEX.test(s)) return Number.parseInt(s.substring(2), 16);
  if (FLOAT_NAN.test(s))
    return s.slice(-3).toLowerCase() === 'nan' ? Number.NaN : s[0] === '-' ? -Infinity : Number.POSITIVE_INFINITY;
  if (FLOAT_EXP.test(s) || FLOAT.test(s)) return Number.parseFloat(s);
  return s;
}

/** Longest implicit key the `yaml` package accepts is 1024 characters; stay well below. */
const MAX_KEY_LENGTH = 1000;
/** Deeper documents go to the `yaml` package (and its own limits). */
const MAX_DEPTH = 200;

class BlockReader {
  /** Current line: start, end of its content (before CR LF, LF or the segment end), indent, number. */
  private ls = 0;
  private le = 0;
  /** Start of the line after the current one. */
  private next = 0;
  /** Indent of the current content line; -1 once the segment is exhausted. */
  private ind = -1;
  private lineNo = 0;
  private depth = 0;
  readonly lines = new Map<string, number>();

  /**
   * @param record whether to build the line table (field paths are only computed when it is).
   */
  constructor(
    private readonly text: string,
    private readonly end: number,
    private readonly record: boolean,
  ) {}

  /** Positions the reader on the first line at `start` (line number `line`). */
  begin(start: number, line: number): void {
    this.ls = start;
    this.lineNo = line;
    this.skipToContent();
  }

  /** The rest of a `---` line must be blank or a comment. */
  skipMarkerLine(start: number, line: number): void {
    this.ls = start;
    this.lineNo = line;
    this.findLineEnd();
    let i = start + 3;
    while (i < this.le && this.text.charCodeAt(i) === SPACE) i++;
    if (i < this.le && this.text.charCodeAt(i) !== HASH) throw DECLINE;
    this.nextLine();
  }

  get atEnd(): boolean {
    return this.ind < 0;
  }

  /** Indent of the current content line. */
  get indent(): number {
    return this.ind;
  }

  get line(): number {
    return this.lineNo;
  }

  private findLineEnd(): void {
    const nl = this.text.indexOf('\n', this.ls);
    const le = nl < 0 || nl > this.end ? this.end : nl;
    this.next = le + 1;
    // CRLF: the CR belongs to the line break, not to the content.
    this.le = le > this.ls && this.text.charCodeAt(le - 1) === 0x0d ? le - 1 : le;
  }

  private nextLine(): void {
    this.ls = this.next;
    this.lineNo++;
    this.skipToContent();
  }

  /** Skips blank and comment lines; sets `ind` to the indent of the next content line, or -1. */
  private skipToContent(): void {
    const text = this.text;
    while (this.ls < this.end) {
      this.findLineEnd();
      let i = this.ls;
      while (i < this.le && text.charCodeAt(i) === SPACE) i++;
      if (i < this.le && text.charCodeAt(i) !== HASH) {
        this.ind = i - this.ls;
        return;
      }
      this.ls = this.next;
      this.lineNo++;
    }
    this.ind = -1;
  }

  /** Reads the node starting at column `col` of the current line. */
  node(col: number, path: string): unknown {
    if (++this.depth > MAX_DEPTH) throw DECLINE;
    const text = this.text;
    const p = this.ls + col;
    const c = text.charCodeAt(p);
    let value: unknown;
    if (c === DASH && (p + 1 === this.le || text.charCodeAt(p + 1) === SPACE)) value = this.sequence(col, path);
    else if (c !== OPEN_SEQ && c !== OPEN_MAP && this.keyEnd(p) >= 0) value = this.mapping(col, path);
    else {
      value = this.scalar(p, path);
      this.nextLine();
    }
    this.depth--;
    return value;
  }

  /**
   * When a mapping key starts at `p`, the offset of its `:`; -1 when the line holds no key here.
   * Declines keys it would have to guess about.
   */
  private keyEnd(p: number): number {
    const text = this.text;
    const le = this.le;
    const c = text.charCodeAt(p);
    if (c === DQUOTE || c === SQUOTE) {
      const close = this.quoteEnd(p);
      return close + 1 < le && text.charCodeAt(close + 1) === COLON && this.spaceOrEnd(close + 2) ? close + 1 : -1;
    }
    for (let i = p; i < le; i++) {
      const ch = text.charCodeAt(i);
      if (ch === COLON && (i + 1 === le || text.charCodeAt(i + 1) === SPACE)) return i;
      if (ch === HASH && text.charCodeAt(i - 1) === SPACE) return -1;
    }
    return -1;
  }

  private spaceOrEnd(i: number): boolean {
    return i >= this.le || this.text.charCodeAt(i) === SPACE;
  }

  /** Offset of the closing quote of a single-line quoted scalar opening at `p`. */
  private quoteEnd(p: number): number {
    const text = this.text;
    const quote = text.charCodeAt(p);
    for (let i = p + 1; i < this.le; i++) {
      const ch = text.charCodeAt(i);
      if (ch === quote) {
        if (quote === SQUOTE && text.charCodeAt(i + 1) === SQUOTE && i + 1 < this.le) {
          i++;
          continue;
        }
        return i;
      }
      if (ch === 0x5c /* \ */ && quote === DQUOTE) throw DECLINE;
    }
    throw DECLINE; // multi-line quoted scalar
  }

  private quoted(p: number, close: number): string {
    const raw = this.text.slice(p + 1, close);
    return this.text.charCodeAt(p) === SQUOTE && raw.includes("''") ? raw.replaceAll("''", "'") : raw;
  }

  /** The rest of the line from `i` must be blank or a comment (after at least one space). */
  private expectLineEnd(i: number): void {
    const text = this.text;
    let spaced = false;
    while (i < this.le && text.charCodeAt(i) === SPACE) {
      i++;
      spaced = true;
    }
    if (i < this.le && !(spaced && text.charCodeAt(i) === HASH)) throw DECLINE;
  }

  /**
   * A scalar or a single-line flow collection that fills the rest of the line from `p` (the line
   * is not advanced). `path` names it, for the lines of what a flow collection holds.
   */
  private scalar(p: number, path: string): unknown {
    const text = this.text;
    const c = text.charCodeAt(p);
    if (c === DQUOTE || c === SQUOTE) {
      const close = this.quoteEnd(p);
      this.expectLineEnd(close + 1);
      return this.quoted(p, close);
    }
    if (c === OPEN_SEQ || c === OPEN_MAP) {
      const value = this.flowCollection(p, path);
      this.expectLineEnd(this.flowEnd);
      return value;
    }
    if (!plainMayStart(c) || (c === DASH && this.spaceOrEnd(p + 1))) throw DECLINE;
    let end = this.le;
    for (let i = p; i < this.le; i++) {
      const ch = text.charCodeAt(i);
      if (ch === COLON && this.spaceOrEnd(i + 1)) throw DECLINE; // a mapping where a scalar must be
      if (ch === HASH && text.charCodeAt(i - 1) === SPACE) {
        end = i;
        break;
      }
    }
    while (text.charCodeAt(end - 1) === SPACE) end--;
    return resolvePlainScalar(text.slice(p, end));
  }

  /** Offset just after the flow collection `flowCollection` last read. */
  private flowEnd = 0;

  private skipSpaces(i: number): number {
    while (i < this.le && this.text.charCodeAt(i) === SPACE) i++;
    return i;
  }

  /**
   * A flow collection (`[a, "b"]`, `{k: v, l: [1]}`) opening at `p` and closing on the same line;
   * entries are quoted or simple plain scalars and nested flow collections. Sets `flowEnd`.
   */
  private flowCollection(p: number, path: string): unknown {
    if (++this.depth > MAX_DEPTH) throw DECLINE;
    const text = this.text;
    const isSeq = text.charCodeAt(p) === OPEN_SEQ;
    const close = isSeq ? CLOSE_SEQ : CLOSE_MAP;
    const list: unknown[] = [];
    const obj: Record<string, unknown> = {};
    let i = this.skipSpaces(p + 1);
    if (text.charCodeAt(i) !== close) {
      for (;;) {
        if (isSeq) {
          const itemPath = this.record ? childPath(path, list.length) : '';
          if (this.record) this.lines.set(itemPath, this.lineNo);
          list.push(this.flowNode(i, itemPath));
        } else {
          const start = i;
          const c = text.charCodeAt(i);
          let key: string;
          if (c === DQUOTE || c === SQUOTE) {
            const end = this.quoteEnd(i);
            key = this.quoted(i, end);
            i = end + 1;
          } else {
            i = this.flowPlainEnd(i);
            key = this.key(start, i);
          }
          if (text.charCodeAt(i) !== COLON || text.charCodeAt(i + 1) !== SPACE) throw DECLINE;
          if (Object.hasOwn(obj, key)) throw DECLINE;
          const keyPath = this.record ? childPath(path, key) : '';
          if (this.record) this.lines.set(keyPath, this.lineNo);
          const value = this.flowNode(this.skipSpaces(i + 2), keyPath);
          if (key in obj)
            Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
          else obj[key] = value;
        }
        i = this.skipSpaces(this.flowEnd);
        const sep = text.charCodeAt(i);
        if (sep === close) break;
        if (sep !== COMMA) throw DECLINE;
        i = this.skipSpaces(i + 1);
        if (i >= this.le || text.charCodeAt(i) === close || text.charCodeAt(i) === COMMA) throw DECLINE;
      }
    }
    this.flowEnd = i + 1;
    this.depth--;
    return isSeq ? list : obj;
  }

  /** One entry of a flow collection at `i`; sets `flowEnd` just after it. */
  private flowNode(i: number, path: string): unknown {
    const text = this.text;
    const c = text.charCodeAt(i);
    if (c === OPEN_SEQ || c === OPEN_MAP) return this.flowCollection(i, path);
    if (c === DQUOTE || c === SQUOTE) {
      const end = this.quoteEnd(i);
      this.flowEnd = end + 1;
      return this.quoted(i, end);
    }
    if (!plainMayStart(c) || (c === DASH && this.spaceOrEnd(i + 1))) throw DECLINE;
    const end = this.flowPlainEnd(i);
    this.flowEnd = end;
    return resolvePlainScalar(this.text.slice(i, end));
  }

  /**
   * End (trailing spaces excluded) of a plain scalar inside a flow collection. Declines the
   * characters whose meaning there depends on what follows them.
   */
  private flowPlainEnd(i: number): number {
    const text = this.text;
    let end = i;
    for (; i < this.le; i++) {
      const ch = text.charCodeAt(i);
      if (ch === COMMA || ch === CLOSE_SEQ || ch === CLOSE_MAP) break;
      // `:` ends the scalar before a space or a flow indicator; elsewhere (`image: app:v1`) it is content.
      if (ch === COLON && (i + 1 >= this.le || isFlowBreak(text.charCodeAt(i + 1)))) break;
      if (ch === HASH || ch === OPEN_SEQ || ch === OPEN_MAP || ch === DQUOTE || ch === SQUOTE) throw DECLINE;
      if (ch !== SPACE) end = i + 1;
    }
    if (i >= this.le) throw DECLINE; // the collection does not close on this line
    return end;
  }

  /** The string a key starting at `p` and ending before the `:` at `colon` stands for. */
  private key(p: number, colon: number): string {
    const text = this.text;
    const c = text.charCodeAt(p);
    if (colon - p > MAX_KEY_LENGTH) throw DECLINE;
    if (c === DQUOTE || c === SQUOTE) return this.quoted(p, colon - 1);
    if (c === DASH || !plainMayStart(c) || text.charCodeAt(colon - 1) === SPACE) throw DECLINE;
    const key = text.slice(p, colon);
    if (typeof resolvePlainScalar(key) !== 'string' || key === '<<') throw DECLINE;
    return key;
  }

  private mapping(n: number, path: string): Record<string, unknown> {
    const text = this.text;
    const obj: Record<string, unknown> = {};
    for (;;) {
      const p = this.ls + n;
      const colon = this.keyEnd(p);
      if (colon < 0) throw DECLINE; // a line at this indent that is not a key
      const key = this.key(p, colon);
      if (Object.hasOwn(obj, key)) throw DECLINE; // duplicate key: the yaml package reports it
      const keyPath = this.record ? childPath(path, key) : '';
      if (this.record) this.lines.set(keyPath, this.lineNo);
      let i = colon + 1;
      while (i < this.le && text.charCodeAt(i) === SPACE) i++;
      let value: unknown;
      if (i >= this.le || text.charCodeAt(i) === HASH) {
        this.nextLine();
        if (this.ind > n) value = this.node(this.ind, keyPath);
        else if (
          this.ind === n &&
          text.charCodeAt(this.ls + n) === DASH &&
          (this.ls + n + 1 === this.le || text.charCodeAt(this.ls + n + 1) === SPACE)
        )
          value = this.sequence(n, keyPath);
        else value = null;
      } else {
        value = this.scalar(i, keyPath);
        this.nextLine();
      }
      if (key in obj) Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
      else obj[key] = value;
      if (this.ind < n) return obj;
      if (this.ind > n) throw DECLINE; // continuation or bad indentation
    }
  }

  private sequence(n: number, path: string): unknown[] {
    const text = this.text;
    const list: unknown[] = [];
    for (;;) {
      const itemPath = this.record ? childPath(path, list.length) : '';
      const dashLine = this.lineNo;
      let i = this.ls + n + 1;
      while (i < this.le && text.charCodeAt(i) === SPACE) i++;
      let value: unknown;
      if (i >= this.le || text.charCodeAt(i) === HASH) {
        this.nextLine();
        if (this.ind > n) {
          if (this.record) this.lines.set(itemPath, this.lineNo);
          value = this.node(this.ind, itemPath);
        } else {
          if (this.record) this.lines.set(itemPath, dashLine);
          value = null;
        }
      } else {
        if (this.record) this.lines.set(itemPath, dashLine);
        value = this.node(i - this.ls, itemPath);
      }
      list.push(value);
      if (this.ind < n) return list;
      if (this.ind > n) throw DECLINE;
      const p = this.ls + n;
      if (text.charCodeAt(p) !== DASH || !(p + 1 === this.le || text.charCodeAt(p + 1) === SPACE)) return list;
    }
  }
}

/**
 * Reads one segment as a document, or returns undefined when it leaves the supported subset.
 * A segment holding only comments and blank lines is an empty document when it opens with
 * `---`, and no document at all otherwise (the leading comments of a stream). With `deferLines`
 * the line table is computed on first use, by reading the segment again (the document then
 * keeps `text` alive until then).
 */
export function readBlockYamlDocument(
  text: string,
  segment: YamlSegment,
  index: number,
  deferLines = false,
): RawDocument | null | undefined {
  const body = text.slice(segment.start, segment.end);
  if (UNSUPPORTED_CHARS.test(body)) return undefined;
  const reader = new BlockReader(text, segment.end, !deferLines);
  try {
    if (segment.marked) reader.skipMarkerLine(segment.start, segment.line);
    else reader.begin(segment.start, segment.line);
    if (reader.atEnd) {
      if (!segment.marked) return null;
      return { index, value: undefined, line: segment.line, lines: reader.lines, problems: [] };
    }
    const line = reader.line;
    const value = readRoot(reader);
    if (value === undefined) return undefined;
    const lines = deferLines
      ? new DeferredLineTable(() => {
          const again = readBlockYamlDocument(text, segment, index);
          return again ? (again.lines as ReadonlyMap<string, number>) : new Map();
        })
      : reader.lines;
    return { index, value, line, lines, problems: [] };
  } catch (err) {
    if (err === DECLINE || err instanceof RangeError) return undefined;
    throw err;
  }
}

function readRoot(reader: BlockReader): unknown {
  const value = reader.node(reader.indent, '');
  // Anything left (a line less indented than a top-level node at column > 0) is not ours to judge.
  if (!reader.atEnd) return undefined;
  // A scalar document: rare in manifests, and `null`-like scalars count as empty documents.
  if (typeof value !== 'object' || value === null) return undefined;
  return value;
}
