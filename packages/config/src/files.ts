/**
 * readManifestPaths: the one function of this package that does I/O. Reads files, directories
 * (recursively: *.yaml, *.yml, *.json, in name order) and `-` (standard input), then parses them.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { lineOfOffset, MAX_MANIFEST_CHARS, type ParseResult, parseManifests } from './codec.js';
import { RULES, type RuleName } from './codes.js';
import type { Finding } from './resource.js';

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

function fileFinding(rule: RuleName, file: string, line: number, message: string, hint?: string): Finding {
  const info = RULES[rule];
  const f: Finding = {
    severity: info.severity,
    code: info.code,
    message,
    path: '',
    source: { file, document: 0, line },
  };
  if (hint) f.hint = hint;
  return f;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_MANIFEST_CHARS * 4) break;
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** Decodes UTF-8 strictly; invalid bytes become a finding with their line, not replacement characters. */
function decode(bytes: Buffer, file: string): { text?: string; finding?: Finding } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    const lossy = new TextDecoder('utf-8').decode(bytes);
    const line = lineOfOffset(lossy, lossy.indexOf('\uFFFD'));
    return {
      finding: fileFinding(
        'binaryInput',
        file,
        line,
        `${file}: not a text manifest: bytes that are not UTF-8 at line ${line}`,
        'manifests must be UTF-8 YAML or JSON text',
      ),
    };
  }
}

async function listManifestFiles(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) await listManifestFiles(full, out);
    else if (e.isFile() && MANIFEST_FILE.test(e.name)) out.push(full);
  }
}

/** Reads and parses every manifest under `paths`. Never throws: unreadable paths become YAML0007 findings. */
export async function readManifestPaths(paths: string[]): Promise<ParseResult> {
  const result: ParseResult = { resources: [], findings: [] };
  const add = (r: ParseResult) => {
    for (const x of r.resources) result.resources.push(x);
    for (const f of r.findings) result.findings.push(f);
  };
  const parseBytes = (bytes: Buffer, file: string) => {
    const { text, finding } = decode(bytes, file);
    if (finding) result.findings.push(finding);
    else add(parseManifests(text ?? '', file));
  };
  for (const path of paths) {
    try {
      if (path === '-') {
        parseBytes(await readStdin(), '<stdin>');
        continue;
      }
      const info = await stat(path);
      const files: string[] = [];
      if (info.isDirectory()) {
        await listManifestFiles(path, files);
        if (files.length === 0)
          result.findings.push(
            fileFinding('noObjects', path, 1, `${path}: directory holds no *.yaml, *.yml or *.json files`),
          );
      } else files.push(path);
      for (const file of files) {
        const size = (await stat(file)).size;
        if (size > MAX_MANIFEST_CHARS) {
          result.findings.push(
            fileFinding(
              'inputTooLarge',
              file,
              1,
              `${file}: ${size} bytes, more than the limit of ${MAX_MANIFEST_CHARS}`,
              'split the manifests into several files',
            ),
          );
          continue;
        }
        parseBytes(await readFile(file), file);
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why =
        e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'EACCES' ? 'permission denied' : e.message;
      result.findings.push(fileFinding('readFailed', path, 1, `${path}: cannot read: ${why}`));
    }
  }
  return result;
}
