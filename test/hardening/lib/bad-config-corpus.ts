/**
 * The config package's validation corpus (packages/config/testdata/validate/*.yaml): YAML documents
 * each preceded by `# case: <what>` and `# expect: <CODE> <severity> <path>` lines. A case with at
 * least one expected error is bad input that every way into Sluice must refuse.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CORPUS_DIR = new URL('../../../packages/config/testdata/validate/', import.meta.url).pathname;

export interface ExpectedFinding {
  code: string;
  severity: string;
  path: string;
}

export interface CorpusCase {
  file: string;
  /** The `# case:` text. */
  name: string;
  /** The document as written, comments included. */
  text: string;
  expect: ExpectedFinding[];
  /** Expected findings of severity error. */
  errors: ExpectedFinding[];
}

export function readCorpus(dir = CORPUS_DIR): CorpusCase[] {
  const cases: CorpusCase[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const docs = readFileSync(join(dir, file), 'utf8').split(/^---[ \t]*$/m);
    for (const text of docs) {
      const name = /^# case:\s*(.*)$/m.exec(text)?.[1]?.trim();
      if (!name) continue;
      const expect = [...text.matchAll(/^# expect:\s*(\S+)\s+(\S+)\s*(.*)$/gm)].map((m) => ({
        code: m[1]!,
        severity: m[2]!,
        path: m[3]!.trim(),
      }));
      cases.push({ file, name, text, expect, errors: expect.filter((e) => e.severity === 'error') });
    }
  }
  return cases;
}

/** The cases every entry point must reject. */
export function badCases(dir = CORPUS_DIR): CorpusCase[] {
  return readCorpus(dir).filter((c) => c.errors.length > 0);
}
