/**
 * Bookinfo in a real headless Chromium: the product page before and after the TCP ServiceEntry for
 * the external MySQL, signing in as jason through the page's form (reviews v2, black stars), and
 * Istio's fault-injection task through the sidecars (a 7 s delay that productpage gives up on, an
 * HTTP 500 abort only jason sees). Screenshots go to test-artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot } from '@sluice/agent';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import {
  fetchProductPage,
  RATINGS_UNAVAILABLE,
  REVIEWS_UNAVAILABLE,
} from '../../packages/cli/src/demo/product-page.js';
import { SERVICE_ENTRY_COMMAND } from '../../packages/cli/src/demo/scenario.js';
import {
  ALL_BOOKINFO_DEPLOYMENTS,
  type BookinfoMesh,
  mustKubectl,
  podsReady,
  registryOnly,
  startBookinfoMesh,
} from './lib/bookinfo.js';
import { eventually } from './lib/mesh.js';

const ARTIFACTS = path.join(repoRoot, 'test-artifacts');
let m: BookinfoMesh;
let context: BrowserContext;
let page: Page;
let profile: string;

before(async () => {
  m = await startBookinfoMesh({ meshName: 'e2ebi2', subnet: '10.233.131.0/24' });
  await registryOnly(m);
  for (const f of [
    'samples/bookinfo/platform/kube/bookinfo.yaml',
    'samples/bookinfo/networking/destination-rule-all.yaml',
    m.secretFile,
    'samples/bookinfo/platform/kube/bookinfo-ratings-v2-mysql.yaml',
    'samples/bookinfo/networking/virtual-service-ratings-mysql.yaml',
  ])
    await mustKubectl(m.kubectl, `kubectl apply -f ${f}`);
  await podsReady(m, ALL_BOOKINFO_DEPLOYMENTS);
  profile = mkdtempSync(path.join(os.tmpdir(), 'sluice-e2e-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1200, height: 1000 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await context?.close().catch(() => {});
  if (profile) rmSync(profile, { recursive: true, force: true });
  await m?.close();
});

/** The browser's window, as much of it as the page script below uses. */
interface CssView {
  getComputedStyle(e: unknown): { color: string };
}

interface Seen {
  errors: number;
  filled: number;
  outline: number;
  colors: string[];
  text: string;
}

/** What the browser shows: visible error lines, filled and outline star icons, their colours. */
async function look(): Promise<Seen> {
  const filled = page.locator('svg[id="glyphicon glyphicon-star"]');
  const colors = await filled.evaluateAll((els) =>
    els.map((e) => (globalThis as unknown as CssView).getComputedStyle(e).color),
  );
  return {
    errors: await page.getByText(RATINGS_UNAVAILABLE, { exact: true }).count(),
    filled: await filled.count(),
    outline: await page.locator('svg[data-star="outline"]').count(),
    colors: [...new Set(colors)],
    text: await page.locator('body').innerText(),
  };
}

/** Reloads the page until `good` holds (config reaches the sidecars within moments). */
async function reloadUntil(good: (s: Seen) => boolean, ms = 30_000): Promise<Seen> {
  let last: Seen | undefined;
  await eventually(
    async () => {
      await page.goto(m.pageUrl, { timeout: 20_000 });
      last = await look();
      return good(last);
    },
    ms,
    500,
  );
  return last as Seen;
}

const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `bookinfo-${name}.png`), fullPage: true });

test('before the ServiceEntry: the page shows the book but "Ratings service is currently unavailable" under each review', async () => {
  const seen = await reloadUntil((s) => s.errors === 2);
  await shot('1-blocked');
  assert.equal(await page.title(), 'Simple Bookstore App');
  assert.equal(seen.errors, 2);
  assert.equal(seen.filled, 0);
  assert.equal(seen.outline, 0);
  assert.ok(await page.getByText('Book Details').isVisible());
  assert.ok(await page.getByText('The Comedy of Errors').first().isVisible());
  assert.ok(await page.getByText(RATINGS_UNAVAILABLE).first().isVisible());
});

test('after the TCP ServiceEntry: each review shows one red star and four outline stars', async () => {
  await mustKubectl(m.kubectl, SERVICE_ENTRY_COMMAND, {
    MYSQL_DB_HOST: 'mysqldb.example',
    MYSQL_DB_IP: m.mysqlIp,
    MYSQL_DB_PORT: '3306',
  });
  const seen = await reloadUntil((s) => s.filled === 2);
  await shot('2-allowed');
  assert.equal(seen.errors, 0);
  assert.equal(seen.filled, 2, 'one filled star per review');
  assert.equal(seen.outline, 8, 'four outline stars per review');
  assert.deepEqual(seen.colors, ['rgb(239, 68, 68)'], 'the filled stars are red (reviews v3)');
});

test('jason signs in through the form and sees reviews v2: black stars', async () => {
  await mustKubectl(m.kubectl, 'kubectl apply -f samples/bookinfo/networking/virtual-service-reviews-test-v2.yaml');
  // Anonymous users now get reviews v1: no stars at all.
  const anon = await reloadUntil((s) => s.filled === 0 && s.errors === 0);
  assert.equal(anon.outline, 0);
  await page.locator('#sign-in-button').click();
  await page.locator('#username').fill('jason');
  await page.locator('#password').fill('password');
  await page.locator('form[name="login_form"] button[type="submit"]').click();
  await page.waitForLoadState('load');
  const seen = await reloadUntil((s) => s.filled === 2);
  await shot('3-jason-v2');
  assert.match(seen.text, /jason/);
  assert.ok(await page.getByText('Sign out').isVisible());
  assert.equal(seen.filled, 2);
  assert.equal(seen.outline, 8);
  assert.equal(seen.colors.length, 1);
  assert.match(seen.colors[0] ?? '', /^rgb\(0, 0, 0\)$/, 'reviews v2 draws black stars');
});

test('fault injection, delay: jason waits for ratings 7 s, productpage gives up after 2×3 s', async () => {
  await mustKubectl(m.kubectl, 'kubectl apply -f samples/bookinfo/networking/virtual-service-ratings-test-delay.yaml');
  const seen = await reloadUntil((s) => s.text.includes(REVIEWS_UNAVAILABLE), 40_000);
  await shot('4-jason-delay');
  assert.match(seen.text, /Error fetching product reviews/);
  assert.ok(seen.text.includes(REVIEWS_UNAVAILABLE));
  assert.equal(seen.filled, 0);
  // Someone else is not delayed: reviews v1, the page answers at once, without the error.
  const anon = await fetchProductPage(m.pageUrl);
  assert.equal(anon.reviewsError, '');
  assert.equal(anon.reviews.length, 2);
});

test('fault injection, abort: only jason sees "Ratings service is currently unavailable"', async () => {
  await mustKubectl(m.kubectl, 'kubectl apply -f samples/bookinfo/networking/virtual-service-ratings-test-abort.yaml');
  const seen = await reloadUntil((s) => s.errors === 2, 40_000);
  await shot('5-jason-abort');
  assert.equal(seen.errors, 2);
  assert.equal(seen.filled, 0);
  const anon = await fetchProductPage(m.pageUrl);
  assert.equal(anon.reviews.length, 2);
  assert.ok(
    anon.reviews.every((r) => r.error === '' && r.filledStars === 0),
    `anonymous sees no error: ${JSON.stringify(anon.reviews)}`,
  );
});
