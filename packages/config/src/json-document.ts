/**
 * A fast path for JSON input (what kubectl and API clients send): one pass that builds the value
 * and the line of every field path. Returns undefined for anything it does not fully accept
 * (syntax errors, duplicate keys), so the YAML reader can report the problem precisely.
 */
import { DeferredLineTable } from './lines.js';
import { childPath } from './paths.js';
import type { RawDocument } from './yaml-documents.js';

/** Thrown (one shared instance) when the text is not JSON this reader accepts. */
const REJECT: { readonly reject: true } = Object.freeze({ reject: true });

/** A JSON number, true, false or null, matched where it starts (sticky). */
const JSON_LITERAL = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;

const QUOTE = 34;
const BACKSLASH = 92;

class JsonReader {
  pos = 0;
  line = 1;
  readonly lines = new Map<string, number>();
  /** Line of each element of the top-level `items` list (kept even when `record` is off). */
  itemLines: number[] | undefined;

  constructor(
    private readonly text: string,
    /** Whether to build the line table (field paths are only computed when it is). */
    private readonly record: boolean,
  ) {}

  skipSpace(): void {
    const text = this.text;
    for (;;) {
      const c = text.charCodeAt(this.pos);
      if (c === 10) this.line++;
      else if (c !== 32 && c !== 9 && c !== 13) return;
      this.pos++;
    }
  }

  readString(): string {
    const text = this.text;
    const start = ++this.pos;
    let escaped = false;
    for (;;) {
      const c = text.charCodeAt(this.pos);
      if (Number.isNaN(c) || c < 32) throw REJECT;
      if (c === BACKSLASH) {
        escaped = true;
        this.pos += 2;
        continue;
      }
      if (c === QUOTE) break;
      this.pos++;
    }
    const raw = text.slice(start, this.pos++);
    return escaped ? (JSON.parse(`"${raw}"`) as string) : raw;
  }

  /** The value at `pos`; `path` names it (for the line table) and `depth` is its nesting level. */
  readValue(path: string, depth: number): unknown {
    this.skipSpace();
    const text = this.text;
    const c = text.charCodeAt(this.pos);
    if (c === 0x7b /* { */) {
      this.pos++;
      const obj: Record<string, unknown> = {};
      this.skipSpace();
      if (text.charCodeAt(this.pos) === 0x7d) {
        this.pos++;
        return obj;
      }
      for (;;) {
        this.skipSpace();
        if (text.charCodeAt(this.pos) !== QUOTE) throw REJECT;
        const keyLine = this.line;
        const key = this.readString();
        if (Object.hasOwn(obj, key)) throw REJECT;
        this.skipSpace();
        if (text.charCodeAt(this.pos++) !== 0x3a /* : */) throw REJECT;
        const p = this.record ? childPath(path, key) : '';
        if (this.record) this.lines.set(p, keyLine);
        const value = depth === 0 && key === 'items' ? this.readItems(p) : this.readValue(p, depth + 1);
        // As the yaml package does: `__proto__` and other inherited names become own properties.
        if (key in obj)
          Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
        else obj[key] = value;
        this.skipSpace();
        const sep = text.charCodeAt(this.pos++);
        if (sep === 0x7d) return obj;
        if (sep !== 0x2c /* , */) throw REJECT;
      }
    }
    if (c === 0x5b /* [ */) return this.readList(path, depth, undefined);
    if (c === QUOTE) return this.readString();
    JSON_LITERAL.lastIndex = this.pos;
    const m = JSON_LITERAL.exec(text);
    if (!m) throw REJECT;
    this.pos += m[0].length;
    return JSON.parse(m[0]) as unknown;
  }

  /** The top-level `items` value; when it is a list, the line of each element is kept. */
  private readItems(path: string): unknown {
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) !== 0x5b) return this.readValue(path, 1);
    this.itemLines = [];
    return this.readList(path, 1, this.itemLines);
  }

  private readList(path: string, depth: number, elementLines: number[] | undefined): unknown[] {
    const text = this.text;
    this.pos++;
    const list: unknown[] = [];
    this.skipSpace();
    if (text.charCodeAt(this.pos) === 0x5d /* ] */) {
      this.pos++;
      return list;
    }
    for (;;) {
      this.skipSpace();
      const p = this.record ? childPath(path, list.length) : '';
      if (this.record) this.lines.set(p, this.line);
      elementLines?.push(this.line);
      list.push(this.readValue(p, depth + 1));
      this.skipSpace();
      const sep = text.charCodeAt(this.pos++);
      if (sep === 0x5d) return list;
      if (sep !== 0x2c) throw REJECT;
    }
  }
}

/**
 * Reads `text` as one JSON document, or returns undefined when it is not JSON this reader
 * accepts. With `deferLines` the line table is computed on first use by reading the text again
 * (only `itemLines`, the line of each element of a top-level `items` list, is kept at once).
 */
export function readJsonDocument(text: string, deferLines = false): RawDocument | undefined {
  const reader = new JsonReader(text, !deferLines);
  try {
    reader.skipSpace();
    const startLine = reader.line;
    const value = reader.readValue('', 0);
    reader.skipSpace();
    if (reader.pos !== text.length) return undefined;
    const doc: RawDocument = { index: 0, value, line: startLine, lines: reader.lines, problems: [] };
    if (deferLines) {
      doc.lines = new DeferredLineTable(() => readJsonDocument(text)?.lines as ReadonlyMap<string, number>);
      if (reader.itemLines) doc.itemLines = reader.itemLines;
    }
    return doc;
  } catch (err) {
    if (err === REJECT || err instanceof SyntaxError) return undefined;
    throw err;
  }
}
