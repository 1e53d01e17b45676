/**
 * The image table: how a container image name of a manifest maps to a local program
 * (samples/bookinfo/images.yaml is the one shipped with Bookinfo). Commands may use `{root}` for
 * the repository root; `node` runs this Node binary, and `--import tsx` the repository's tsx.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import type { ImageEntry, ImageTable } from './pod-spec.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Absolute path of tsx's ESM loader, so TypeScript programs run from any working directory. */
export function tsxLoader(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'loader.mjs');
}

export class ImageTableError extends Error {
  readonly code = 'BadImageTable';
}

function expand(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = (argv[i] as string).replaceAll('{root}', repoRoot).replaceAll('<repo>', repoRoot);
    if (i === 0 && a === 'node') out.push(process.execPath);
    else if (a === '--import' && argv[i + 1] === 'tsx') {
      out.push('--import', tsxLoader());
      i++;
    } else out.push(a);
  }
  return out;
}

/** Reads an image table file: `images: { <image>: { command: [...], env: {...} } }`. */
export function loadImageTable(file: string): ImageTable {
  let doc: unknown;
  try {
    doc = YAML.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ImageTableError(`${file}: ${(e as Error).message}`);
  }
  const images = (doc as { images?: unknown })?.images;
  if (!images || typeof images !== 'object') throw new ImageTableError(`${file}: missing top-level "images" map`);
  const table: ImageTable = {};
  for (const [name, raw] of Object.entries(images as Record<string, unknown>)) {
    const e = raw as Partial<ImageEntry>;
    if (!Array.isArray(e?.command) || e.command.some((c) => typeof c !== 'string') || e.command.length === 0) {
      throw new ImageTableError(`${file}: images["${name}"].command must be a non-empty list of strings`);
    }
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(e.env ?? {})) env[k] = String(v);
    table[name] = { command: expand(e.command), env };
  }
  return table;
}
