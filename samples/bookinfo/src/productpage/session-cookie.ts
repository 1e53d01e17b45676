import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'session';

/** The signed session of the product page: only the signed-in user's name. */
export interface Session {
  user?: string;
}

/**
 * Signs and verifies the `session` cookie with HMAC-SHA256. The key is SESSION_SECRET when set,
 * else random per process (sessions then end when the process does).
 */
export class SessionCodec {
  private readonly key: Buffer;

  constructor(secret: string | undefined) {
    this.key = secret !== undefined && secret !== '' ? Buffer.from(secret, 'utf8') : randomBytes(32);
  }

  encode(session: Session): string {
    const payload = Buffer.from(JSON.stringify(session), 'utf8').toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  /** The session in a Cookie header; a missing, malformed or forged cookie gives an empty session. */
  decode(cookieHeader: string | undefined): Session {
    const value = cookieValue(cookieHeader, SESSION_COOKIE);
    if (value === undefined) return {};
    const dot = value.lastIndexOf('.');
    if (dot <= 0) return {};
    const payload = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.sign(payload), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return {};
    try {
      const parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
      const user = (parsed as Session | null)?.user;
      return typeof user === 'string' ? { user } : {};
    } catch {
      return {};
    }
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}

/** The value of cookie `name` in a Cookie header. */
export function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  if (cookieHeader === undefined) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
