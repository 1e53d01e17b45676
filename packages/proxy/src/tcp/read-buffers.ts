/**
 * 256 KB read buffers for upstream sockets (`net.connect({ onread })`): one per open upstream
 * connection, recycled when it closes, so the byte path allocates nothing per chunk. Pages of a
 * buffer are only committed when a read touches them.
 */
export const READ_BUFFER_SIZE = 256 * 1024;
const MAX_FREE = 64;

const free: Buffer[] = [];

export function takeReadBuffer(): Buffer {
  return free.pop() ?? Buffer.allocUnsafeSlow(READ_BUFFER_SIZE);
}

export function returnReadBuffer(buf: Buffer): void {
  if (free.length < MAX_FREE) free.push(buf);
}
