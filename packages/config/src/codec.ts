/**
 * parseManifests: YAML/JSON text → resources that remember where they came from, plus findings
 * for everything that could not be read. Pure and total: it never throws.
 */
import { RULES, type RuleName } from './codes.js';
import { readJsonDocument } from './json-document.js';
import { DeferredLineTable, type LineTable, resolveLineTable, setLineTable } from './lines.js';
import type { Finding, ParsedResource, SourceRef } from './resource.js';
import { type RawDocument, readYamlDocuments } from './yaml-documents.js';

/** Inputs larger than this (in characters) are refused with YAML0005. */
export const MAX_MANIFEST_CHARS = 32 * 1024 * 1024;

/** Findings reported per file before the rest are summarised (binary garbage can yield thousands). */
const MAX_TEXT_PROBLEMS_PER_FILE = 20;

export interface ParseResult {
  resources: ParsedResource[];
  findings: Finding[];
}

// Control characters YAML forbids in a stream (tab, LF and CR are fine).
const BINARY_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

function textFinding(name: RuleName, file: string, document: number, line: number, message: string, hint?: string) {
  const info = RULES[name];
  const f: Finding = { severity: info.severity, code: info.code, message, path: '', source: { file, document, line } };
  if (hint) f.hint = hint;
  return f;
}

/** 1-based line of a character offset. */
export function lineOfOffset(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/**
 * Parses multi-document YAML or JSON. `kind: List` objects are expanded into their items. Every
 * resource gets `source {file, document, line}` and a line table readable with `lineOf`.
 * Returned resources are as written (not validated, not normalised); treat them as immutable.
 */
export function parseManifests(text: string, file: string): ParseResult {
  const resources: ParsedResource[] = [];
  const findings: Finding[] = [];
  if (typeof text !== 'string') {
    findings.push(textFinding('binaryInput', file, 0, 1, `${file}: input is not text`));
    return { resources, findings };
  }
  if (text.length > MAX_MANIFEST_CHARS) {
    findings.push(
      textFinding(
        'inputTooLarge',
        file,
        0,
        1,
        `${file}: input is ${text.length} characters, more than the limit of ${MAX_MANIFEST_CHARS}`,
        'split the manifests into several files',
      ),
    );
    return { resources, findings };
  }
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const binary = BINARY_CHAR.exec(body);
  if (binary) {
    const code = binary[0].charCodeAt(0);
    const what = `control character U+${code.toString(16).padStart(4, '0').toUpperCase()}`;
    findings.push(
      textFinding(
        'binaryInput',
        file,
        0,
        lineOfOffset(body, binary.index),
        `${file}: not a text manifest: ${what} at line ${lineOfOffset(body, binary.index)}`,
        'manifests must be UTF-8 YAML or JSON text',
      ),
    );
    return { resources, findings };
  }

  let documents: RawDocument[];
  try {
    const trimmed = body.trimStart();
    const json = trimmed.startsWith('{') ? readJsonDocument(body, true) : undefined;
    documents = json ? [json] : readYamlDocuments(body, { deferLines: true });
  } catch (err) {
    // The YAML library is not expected to throw; if it does, the input is still reported, not crashed on.
    findings.push(textFinding('yamlSyntax', file, 0, 1, `${file}: cannot parse: ${(err as Error).message}`));
    return { resources, findings };
  }

  let problemCount = 0;
  let sawObject = false;
  for (const doc of documents) {
    for (const p of doc.problems) {
      problemCount++;
      if (problemCount > MAX_TEXT_PROBLEMS_PER_FILE) continue;
      const rule = p.severity === 'error' ? 'yamlSyntax' : 'yamlWarning';
      findings.push(textFinding(rule, file, doc.index, p.line, `${file}:${p.line}: ${p.message}`));
    }
    if (doc.problems.some((p) => p.severity === 'error') || doc.value === undefined) continue;
    sawObject = true;
    collectObjects(doc, file, resources, findings);
  }
  if (problemCount > MAX_TEXT_PROBLEMS_PER_FILE) {
    findings.push(
      textFinding(
        'yamlSyntax',
        file,
        0,
        1,
        `${file}: ${problemCount - MAX_TEXT_PROBLEMS_PER_FILE} more syntax problems not shown`,
      ),
    );
  }
  if (!sawObject && problemCount === 0) {
    findings.push(
      textFinding(
        'noObjects',
        file,
        0,
        1,
        `${file}: no objects found: the input is empty or holds only comments`,
        'give at least one document with apiVersion, kind and metadata',
      ),
    );
  }
  return { resources, findings };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'string'
    ? `a string (${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)})`
    : `a ${typeof v}`;
}

function collectObjects(doc: RawDocument, file: string, resources: ParsedResource[], findings: Finding[]): void {
  const value = doc.value;
  if (!isPlainObject(value)) {
    findings.push(
      textFinding(
        'notAnObject',
        file,
        doc.index,
        doc.line,
        `${file}:${doc.line}: document ${doc.index} is ${describe(value)}, expected an object with apiVersion, kind and metadata`,
        Array.isArray(value) ? 'put several objects in separate documents (---) or in a `kind: List`' : undefined,
      ),
    );
    return;
  }
  if (value['kind'] === 'List' && Array.isArray(value['items'])) {
    const items = value['items'] as unknown[];
    // Each item's table is the List's table re-rooted; it is split once, when first needed.
    const { itemLines } = doc;
    let tables: Map<string, number>[] | undefined;
    const tablesOf = () => {
      tables ??= splitListLines(resolveLineTable(doc.lines), items.length);
      return tables;
    };
    const lineOfItem = (i: number) =>
      (itemLines ? itemLines[i] : resolveLineTable(doc.lines).get(`items[${i}]`)) ?? doc.line;
    items.forEach((item, i) => {
      const line = lineOfItem(i);
      if (!isPlainObject(item)) {
        const f = textFinding(
          'notAnObject',
          file,
          doc.index,
          line,
          `${file}:${line}: items[${i}] of the List is ${describe(item)}, expected an object`,
        );
        f.path = `items[${i}]`;
        findings.push(f);
        return;
      }
      const table = itemLines
        ? new DeferredLineTable(() => tablesOf()[i] ?? new Map())
        : (tablesOf()[i] ?? new Map<string, number>());
      resources.push(makeResource(item, { file, document: doc.index, line }, table));
    });
    return;
  }
  resources.push(makeResource(value, { file, document: doc.index, line: doc.line }, doc.lines));
}

function makeResource(value: Record<string, unknown>, source: SourceRef, lines: LineTable): ParsedResource {
  const resource = { ...value, source } as unknown as ParsedResource;
  setLineTable(resource, lines);
  return resource;
}

/** Re-roots `items[i].x.y` entries of a List's line table into one table per item (`x.y`). */
function splitListLines(lines: ReadonlyMap<string, number>, count: number): Map<string, number>[] {
  const tables = Array.from({ length: count }, () => new Map<string, number>());
  for (const [path, line] of lines) {
    if (!path.startsWith('items[')) continue;
    const close = path.indexOf(']');
    const index = Number(path.slice(6, close));
    const table = tables[index];
    if (!table) continue;
    let rest = path.slice(close + 1);
    if (rest.startsWith('.')) rest = rest.slice(1);
    if (rest !== '') table.set(rest, line);
  }
  return tables;
}
