import { httpGet } from '../shared/http-get.js';

/** The ISBN the external mode looks up (a Comedy of Errors edition with Shakespeare as sole author). */
export const EXTERNAL_ISBN = '0486424618';

/** Details of the book as a JSON object text, keys in the original's order; `id` is echoed. */
export function builtInDetailsJson(id: bigint): string {
  const rest = JSON.stringify({
    author: 'William Shakespeare',
    year: 1595,
    type: 'paperback',
    pages: 200,
    publisher: 'PublisherA',
    language: 'English',
    'ISBN-10': '1234567890',
    'ISBN-13': '123-1234567890',
  });
  return `{"id":${id.toString()},${rest.slice(1)}`;
}

export interface ExternalServiceOptions {
  /** DO_NOT_ENCRYPT="true": plain HTTP on port 80, counting on the mesh to originate TLS. */
  plainHttp: boolean;
  headers: Record<string, string>;
  /** Where the book service is; the Google Books API unless given (tests use a local server). */
  baseUrl?: string;
}

/**
 * Fetches the book from the Google Books API and maps it like the original. Read timeout 5 s,
 * connect timeout as Ruby's Net::HTTP default (60 s), no retry. Throws on any failure.
 */
export async function externalDetailsJson(id: bigint, options: ExternalServiceOptions): Promise<string> {
  const scheme = options.plainHttp ? 'http' : 'https';
  const port = options.plainHttp ? 80 : 443;
  const base = options.baseUrl ?? `${scheme}://www.googleapis.com:${port}`;
  const url = `${base}/books/v1/volumes?q=isbn:${EXTERNAL_ISBN}`;
  const reply = await httpGet(url, { headers: options.headers, connectTimeoutMs: 60_000, readTimeoutMs: 5000 });
  const book = volumeInfoOf(JSON.parse(reply.body) as unknown);
  const rest = JSON.stringify({
    author: firstOf(book.authors, 'authors'),
    year: book.publishedDate,
    type: book.printType === 'BOOK' ? 'paperback' : 'unknown',
    pages: book.pageCount,
    publisher: book.publisher,
    language: book.language === 'en' ? 'English' : 'unknown',
    'ISBN-10': isbnOf(book, 'ISBN_10'),
    'ISBN-13': isbnOf(book, 'ISBN_13'),
  });
  return `{"id":${id.toString()},${rest.slice(1)}`;
}

type VolumeInfo = Record<string, unknown>;

function volumeInfoOf(json: unknown): VolumeInfo {
  const items = (json as { items?: unknown } | null)?.items;
  const first = Array.isArray(items) ? (items[0] as { volumeInfo?: unknown } | undefined) : undefined;
  const info = first?.volumeInfo;
  if (typeof info !== 'object' || info === null) throw new Error('no volumeInfo in the book service reply');
  return info as VolumeInfo;
}

function firstOf(list: unknown, field: string): unknown {
  if (!Array.isArray(list)) throw new Error(`no ${field} in the book service reply`);
  return list[0] ?? null;
}

function isbnOf(book: VolumeInfo, type: string): unknown {
  const ids = book.industryIdentifiers;
  if (!Array.isArray(ids)) throw new Error('no industryIdentifiers in the book service reply');
  const found = ids.find((entry) => (entry as { type?: unknown })?.type === type) as
    | { identifier?: unknown }
    | undefined;
  if (found === undefined) throw new Error(`no ${type} in the book service reply`);
  return found.identifier ?? null;
}
