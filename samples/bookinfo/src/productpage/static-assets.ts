import { readFileSync } from 'node:fs';
import { izzyPng } from './avatar-image.js';

/** A file served under /static/. */
export interface StaticAsset {
  contentType: string;
  body: Buffer;
}

/** The product page's static files, loaded once: the stylesheet and the avatar. Nothing else is served. */
export function loadStaticAssets(): ReadonlyMap<string, StaticAsset> {
  const css = readFileSync(new URL('./static/tailwind/tailwind.css', import.meta.url));
  return new Map<string, StaticAsset>([
    ['/static/tailwind/tailwind.css', { contentType: 'text/css; charset=utf-8', body: css }],
    ['/static/img/izzy.png', { contentType: 'image/png', body: izzyPng() }],
  ]);
}
