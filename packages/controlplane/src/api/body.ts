/**
 * Reads a request body under a size limit and decodes it as JSON or YAML: strict UTF-8, and at most
 * MAX_NESTING_DEPTH levels of objects and arrays.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { checkNestingDepth, MAX_NESTING_DEPTH } from './nesting-depth.js';
import { errors } from './status.js';
import { decodeUtf8 } from './utf8.js';
import { yamlFlowTooDeepAt } from './yaml-flow-depth.js';

/** Kubernetes' own request body limit. */
export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Collects the body; rejects with 413 as soon as it passes `limit` bytes (nothing is decoded). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) return Promise.reject(errors.tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        reject(errors.tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve(Buffer.concat(chunks));
      }
    });
    req.on('error', (err) => {
      if (!done) {
        done = true;
        reject(errors.badRequest(`reading the request body failed: ${err.message}`));
      }
    });
  });
}

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

const STACK_OVERFLOW = 'Maximum call stack size exceeded';

/**
 * Decodes a JSON or YAML body into one value. 400 when it is not UTF-8, does not parse or nests
 * deeper than MAX_NESTING_DEPTH.
 */
export function decodeBody(body: Buffer, contentType: string | undefined): unknown {
  const type = mediaType(contentType);
  const text = decodeUtf8(body);
  if (text.trim() === '') throw errors.badRequest('the request body is empty');
  let value: unknown;
  if (type === 'application/yaml' || type === 'application/x-yaml' || type === 'text/yaml') {
    const deep = yamlFlowTooDeepAt(text, MAX_NESTING_DEPTH);
    if (deep)
      throw errors.badRequest(
        `the request body nests objects and arrays more than ${MAX_NESTING_DEPTH} levels deep (at line ${deep.line}, column ${deep.column}); flatten it`,
      );
    try {
      value = parseYaml(text, { strict: true, uniqueKeys: true });
    } catch (err) {
      const message = (err as Error).message;
      // The YAML parser recurses: a document nested thousands of levels deep overflows it first.
      if (message.includes(STACK_OVERFLOW))
        throw errors.badRequest(
          `the request body nests objects and arrays too deeply to parse (at most ${MAX_NESTING_DEPTH} levels are accepted)`,
        );
      throw errors.badRequest(`the request body is not valid YAML: ${message.split('\n')[0]}`);
    }
  } else {
    try {
      value = JSON.parse(text); // iterative in V8: any depth parses, the check below bounds it
    } catch (err) {
      throw errors.badRequest(`the request body is not valid JSON: ${(err as Error).message}`);
    }
  }
  checkNestingDepth(value);
  return value;
}
