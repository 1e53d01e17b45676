/**
 * Loads the native `SO_ORIGINAL_DST` addon (packages/proxy/native, built by `node-gyp` at install
 * time) and reads the original destination of an accepted, iptables-redirected socket.
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OriginalDestination } from '../upstream/cluster-view.js';

/** The addon is not built. */
export class NativeAddonMissingError extends Error {
  readonly code = 'ERR_SLUICE_NATIVE_ADDON_MISSING';
}

interface Addon {
  originalDst(fd: number): OriginalDestination | null;
}

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const candidates = [
  path.join(packageDir, 'native', 'build', 'Release', 'original_dst.node'),
  path.join(packageDir, 'build', 'Release', 'original_dst.node'),
];

let addon: Addon | undefined;

function load(): Addon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  for (const file of candidates) {
    try {
      addon = require(file) as Addon;
      return addon;
    } catch {
      /* try the next location */
    }
  }
  throw new NativeAddonMissingError(
    `the SO_ORIGINAL_DST addon is not built (looked for ${candidates.join(', ')}); ` +
      'run `npm run build:native -w @sluice/proxy` (node-gyp and a C compiler are needed)',
  );
}

/** The original destination of a connection whose fd is given, or null when it was not redirected. */
export function originalDstOfFd(fd: number): OriginalDestination | null {
  return load().originalDst(fd);
}

/** The original destination of an accepted socket, or null (not redirected, or no fd). */
export function originalDst(socket: Socket): OriginalDestination | null {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return null;
  return originalDstOfFd(fd);
}

/** Throws {@link NativeAddonMissingError} now rather than at the first connection. */
export function assertNativeAddon(): void {
  load();
}
