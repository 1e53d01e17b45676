/**
 * Splits YAML (or JSON) text into documents: each document's value, its first line, and the
 * line of every field path in it. Syntax errors come back as data, never as exceptions.
 */
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';
import { type LineTable, resolveLineTable } from './lines.js';
import { childPath } from './paths.js';
import { readBlockYamlDocument, splitYamlStream } from './yaml-block-reader.js';

export interface TextProblem {
  message: string;
  line: number;
  /** `warning` for constructs the parser accepts but flags; everything else is an error. */
  severity: 'error' | 'warning';
}

export interface RawDocument {
  /** 0-based position in the stream (empty documents count). */
  index: number;
  /** undefined for an empty document. */
  value: unknown;
  line: number;
  /** The line of every field path; possibly deferred (see `readYamlDocuments`). */
  lines: LineTable;
  /**
   * The line of each element of a top-level `items` list, when `lines` is deferred and the
   * reader kept them (so a `kind: List` can be expanded without computing its table).
   */
  itemLines?: number[];
  problems: TextProblem[];
}

/** Largest alias expansion accepted (guards against "billion laughs" documents). */
const MAX_ALIAS_COUNT = 1000;

/**
 * Reads every document of a stream. Documents in the common manifest subset go through a fast
 * reader; any other document is read by the `yaml` package, alone when that is safe, else the
 * whole stream is. Both routes give the same values, lines and problems.
 */
export function readYamlDocuments(text: string, options: { deferLines?: boolean } = {}): RawDocument[] {
  const segments = splitYamlStream(text);
  if (!segments) return readYamlDocumentsWithLibrary(text);
  const documents: RawDocument[] = [];
  for (const segment of segments) {
    const index = documents.length;
    const fast = readBlockYamlDocument(text, segment, index, options.deferLines === true);
    if (fast === null) continue;
    if (fast) {
      documents.push(fast);
      continue;
    }
    // The library reads this document alone; anything short of one clean document (or, for the
    // stream's leading part, none) is judged on the whole stream instead, where problems are
    // reported exactly as the library reports them.
    const alone = readYamlDocumentsWithLibrary(text.slice(segment.start, segment.end));
    const doc = alone[0];
    if (alone.length === 0 && !segment.marked) continue;
    if (alone.length !== 1 || !doc || doc.problems.length > 0) return readYamlDocumentsWithLibrary(text);
    documents.push(shiftLines(doc, index, segment.line - 1));
  }
  return documents;
}

function shiftLines(doc: RawDocument, index: number, by: number): RawDocument {
  const lines = new Map<string, number>();
  for (const [path, line] of resolveLineTable(doc.lines)) lines.set(path, line + by);
  return { index, value: doc.value, line: doc.line + by, lines, problems: [] };
}

/** Reads every document with the `yaml` package (the reference the fast reader must match). */
export function readYamlDocumentsWithLibrary(text: string): RawDocument[] {
  const counter = new LineCounter();
  const docs = parseAllDocuments(text, {
    lineCounter: counter,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
  });
  const list: Document[] = Array.isArray(docs) ? docs : [docs as unknown as Document];
  const lineAt = (offset: number) => counter.linePos(offset).line;
  return list.map((doc, index) => toRawDocument(doc, index, lineAt));
}

function toRawDocument(doc: Document, index: number, lineAt: (offset: number) => number): RawDocument {
  const problems: TextProblem[] = [];
  for (const e of doc.errors) problems.push({ message: e.message, line: lineAt(e.pos[0]), severity: 'error' });
  for (const w of doc.warnings) problems.push({ message: w.message, line: lineAt(w.pos[0]), severity: 'warning' });
  const contents = doc.contents as Node | null;
  const start = contents?.range?.[0] ?? doc.range?.[0] ?? 0;
  const lines = new Map<string, number>();
  let value: unknown;
  if (problems.every((p) => p.severity !== 'error') && contents !== null) {
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      problems.push({ message: (err as Error).message, line: lineAt(start), severity: 'error' });
    }
    if (value !== undefined) recordLines(contents, '', lines, lineAt);
  }
  const isEmpty = contents === null || (isScalar(contents) && contents.value === null && problems.length === 0);
  return { index, value: isEmpty ? undefined : value, line: lineAt(start), lines, problems };
}

function recordLines(node: unknown, path: string, lines: Map<string, number>, lineAt: (o: number) => number): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const p = childPath(path, key);
      const keyRange = (pair.key as Node | null)?.range;
      if (keyRange) lines.set(p, lineAt(keyRange[0]));
      recordLines(pair.value, p, lines, lineAt);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      const p = childPath(path, i);
      const range = (item as Node | null)?.range;
      if (range) lines.set(p, lineAt(range[0]));
      recordLines(item, p, lines, lineAt);
    });
  }
}
