/**
 * Reads a downstream request body so it can be replayed on retries: bodies up to `limit` bytes are
 * buffered completely before anything goes upstream (so a body the parser later rejects never
 * reaches an upstream); larger bodies are streamed and cannot be retried.
 */
import type http from 'node:http';

export type RequestBody =
  | { readonly kind: 'buffered'; readonly body: Buffer }
  | { readonly kind: 'streamed'; readonly head: Buffer; readonly rest: http.IncomingMessage; received(): number }
  | { readonly kind: 'failed' };

export function readRequestBody(req: http.IncomingMessage, limit: number): Promise<RequestBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onFail);
      req.off('aborted', onFail);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) {
        req.pause();
        cleanup();
        let streamed = size;
        req.on('data', (c: Buffer) => {
          streamed += c.length;
        });
        resolve({ kind: 'streamed', head: Buffer.concat(chunks), rest: req, received: () => streamed });
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({ kind: 'buffered', body: Buffer.concat(chunks) });
    };
    const onFail = () => {
      cleanup();
      resolve({ kind: 'failed' });
    };
    if (req.complete && req.readableEnded) return resolve({ kind: 'buffered', body: Buffer.alloc(0) });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onFail);
    req.on('aborted', onFail);
  });
}
