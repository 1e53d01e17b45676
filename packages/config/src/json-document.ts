/**
 * A fast path for JSON input (what kubectl and API clients send): one pass that builds the value
 * and the line of every field path. Returns undefined for anything it does not fully accept
 * (syntax errors, duplicate keys), so the YAML reader can report the problem precisely.
 */
import { childPath } from './paths.js';
import type { RawDocument } from './yaml-documents.js';

class Reject extends Error {}

/** A JSON number, true, false or null, matched where it starts (sticky). */
const JSON_LITERAL = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;

export function readJsonDocument(text: string): RawDocument | undefined {
  let pos = 0;
  let line = 1;
  const lines = new Map<string, number>();

  const skipSpace = () => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 10) line++;
      else if (c !== 32 && c !== 9 && c !== 13) return;
      pos++;
    }
  };
  const readString = (): string => {
    const start = ++pos;
    let escaped = false;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (Number.isNaN(c) || c < 32) throw new Reject();
      if (c === 92) {
        escaped = true;
        pos += 2;
        continue;
      }
      if (c === 34) break;
      pos++;
    }
    const raw = text.slice(start, pos++);
    return escaped ? (JSON.parse(`"${raw}"`) as string) : raw;
  };
  const readValue = (path: string): unknown => {
    skipSpace();
    const c = text[pos];
    if (c === '{') {
      pos++;
      const obj: Record<string, unknown> = {};
      skipSpace();
      if (text[pos] === '}') {
        pos++;
        return obj;
      }
      for (;;) {
        skipSpace();
        if (text[pos] !== '"') throw new Reject();
        const keyLine = line;
        const key = readString();
        if (Object.hasOwn(obj, key)) throw new Reject();
        skipSpace();
        if (text[pos++] !== ':') throw new Reject();
        const p = childPath(path, key);
        lines.set(p, keyLine);
        obj[key] = readValue(p);
        skipSpace();
        const sep = text[pos++];
        if (sep === '}') return obj;
        if (sep !== ',') throw new Reject();
      }
    }
    if (c === '[') {
      pos++;
      const list: unknown[] = [];
      skipSpace();
      if (text[pos] === ']') {
        pos++;
        return list;
      }
      for (;;) {
        skipSpace();
        const p = childPath(path, list.length);
        lines.set(p, line);
        list.push(readValue(p));
        skipSpace();
        const sep = text[pos++];
        if (sep === ']') return list;
        if (sep !== ',') throw new Reject();
      }
    }
    if (c === '"') return readString();
    JSON_LITERAL.lastIndex = pos;
    const m = JSON_LITERAL.exec(text);
    if (!m) throw new Reject();
    pos += m[0].length;
    return JSON.parse(m[0]) as unknown;
  };

  try {
    skipSpace();
    const startLine = line;
    const value = readValue('');
    skipSpace();
    if (pos !== text.length) return undefined;
    return { index: 0, value, line: startLine, lines, problems: [] };
  } catch (err) {
    if (err instanceof Reject || err instanceof SyntaxError) return undefined;
    throw err;
  }
}
