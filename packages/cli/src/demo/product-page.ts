/**
 * Reads Bookinfo's product page the way a person looks at it: per review, how many filled stars
 * of which colour, how many outline stars, and any error text in place of the stars.
 */
import http from 'node:http';

export interface ReviewView {
  reviewer: string;
  filledStars: number;
  /** Colour of the filled stars (`red`, `black`), or '' when there are none. */
  color: string;
  outlineStars: number;
  /** Error shown instead of stars, e.g. "Ratings service is currently unavailable". */
  error: string;
}

export interface ProductPageView {
  status: number;
  title: string;
  /** "Sorry, product reviews are currently unavailable for this book." or similar when reviews failed. */
  reviewsError: string;
  reviews: ReviewView[];
  hasBookDetails: boolean;
  /** Signed-in user shown in the nav bar, or ''. */
  user: string;
  html: string;
}

export const RATINGS_UNAVAILABLE = 'Ratings service is currently unavailable';
export const REVIEWS_UNAVAILABLE = 'Sorry, product reviews are currently unavailable for this book.';

const count = (text: string, needle: string) => text.split(needle).length - 1;
const decode = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** Parses the product page HTML. */
export function parseProductPage(html: string, status = 200): ProductPageView {
  const reviews: ReviewView[] = [];
  for (const section of html.split('<section class="px-6').slice(1)) {
    const body = section.split('</section>')[0] ?? '';
    const filledStars = count(body, 'id="glyphicon glyphicon-star"');
    const color = filledStars ? (/text-([a-z]+)-500"/.exec(body)?.[1] ?? '') : '';
    const error = /<p class="text-red-500">([^<]*)<\/p>/.exec(body)?.[1] ?? '';
    const reviewer = /<div class="font-semibold text-gray-900">([^<]*)<\/div>/.exec(body)?.[1] ?? '';
    reviews.push({
      reviewer: decode(reviewer),
      filledStars,
      color,
      outlineStars: count(body, 'data-star="outline"'),
      error: decode(error),
    });
  }
  const reviewsError = html.includes('Error fetching product reviews')
    ? decode(/Error fetching product reviews<\/p>\s*<p[^>]*>([^<]*)<\/p>/.exec(html)?.[1] ?? '')
    : '';
  const user = /<p class="text-base font-medium text-gray-50">([^<]*)<\/p>/.exec(html)?.[1] ?? '';
  return {
    status,
    title: /<title>([^<]*)<\/title>/.exec(html)?.[1] ?? '',
    reviewsError,
    reviews,
    hasBookDetails: html.includes('Book Details'),
    user: decode(user),
    html,
  };
}

/** GET `url` (HTTP/1.1, no keep-alive) and parse it. `cookie` sends a session (a signed-in user). */
export function fetchProductPage(
  url: string,
  o: { cookie?: string; timeoutMs?: number } = {},
): Promise<ProductPageView> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { agent: false, timeout: o.timeoutMs ?? 15_000, headers: o.cookie ? { cookie: o.cookie } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(parseProductPage(Buffer.concat(chunks).toString('utf8'), res.statusCode ?? 0)));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${o.timeoutMs ?? 15_000} ms`)));
    req.on('error', reject);
  });
}

/** Signs in like the page's form (POST /login username=…); returns the session cookie. */
export function signIn(baseUrl: string, username: string): Promise<string> {
  const body = new URLSearchParams({ username, passwd: 'password' }).toString();
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${baseUrl}/login`,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': String(Buffer.byteLength(body)),
          referer: `${baseUrl}/productpage`,
        },
      },
      (res) => {
        res.resume();
        const set = res.headers['set-cookie']?.[0];
        if (!set) reject(new Error(`POST /login: HTTP ${res.statusCode}, no session cookie`));
        else resolve(set.split(';')[0] as string);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** One line per review, e.g. `Reviewer1: ★☆☆☆☆ (1 red)` or `Reviewer1: "Ratings service is currently unavailable"`. */
export function describeReviews(page: ProductPageView): string[] {
  if (page.reviewsError) return [`reviews: "${page.reviewsError}"`];
  if (page.reviews.length === 0) return [`no reviews on the page (HTTP ${page.status})`];
  return page.reviews.map((r) => {
    if (r.error) return `${r.reviewer}: "${r.error}"`;
    if (r.filledStars === 0 && r.outlineStars === 0) return `${r.reviewer}: no stars`;
    return `${r.reviewer}: ${'★'.repeat(r.filledStars)}${'☆'.repeat(r.outlineStars)} (${r.filledStars} ${r.color} filled, ${r.outlineStars} outline)`;
  });
}

/** Both reviews show exactly one filled star of `color` and four outline stars. */
export function showsOneStar(page: ProductPageView, color = 'red'): boolean {
  return (
    page.reviews.length === 2 &&
    page.reviews.every((r) => r.filledStars === 1 && r.outlineStars === 4 && r.color === color && !r.error)
  );
}

/** Every review shows the ratings-unavailable message and no stars. */
export function showsRatingsUnavailable(page: ProductPageView): boolean {
  return (
    page.reviews.length === 2 &&
    page.reviews.every((r) => r.error === RATINGS_UNAVAILABLE && r.filledStars === 0 && r.outlineStars === 0)
  );
}
