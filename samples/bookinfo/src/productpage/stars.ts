import { escapeHtml } from './html.js';

const FILLED_PATH =
  'M10.868 2.884c-.321-.772-1.415-.772-1.736 0l-1.83 4.401-4.753.381c-.833.067-1.171 1.107-.536 1.651l3.62 3.102-1.106 4.637c-.194.813.691 1.456 1.405 1.02L10 15.591l4.069 2.485c.713.436 1.598-.207 1.404-1.02l-1.106-4.637 3.62-3.102c.635-.544.297-1.584-.536-1.65l-4.752-.382-1.831-4.401z';
const OUTLINE_PATH =
  'M11.48 3.499a.562.562 0 0 1 1.04 0l2.125 5.111a.563.563 0 0 0 .475.345l5.518.442c.499.04.701.663.321.988l-4.204 3.602a.563.563 0 0 0-.182.557l1.285 5.385a.562.562 0 0 1-.84.61l-4.725-2.885a.562.562 0 0 0-.586 0L6.982 20.54a.562.562 0 0 1-.84-.61l1.285-5.386a.562.562 0 0 0-.182-.557l-4.204-3.602a.562.562 0 0 1 .321-.988l5.518-.442a.563.563 0 0 0 .475-.345L11.48 3.5Z';

/**
 * A rating as star icons: `stars` filled stars (each `id="glyphicon glyphicon-star"`, coloured
 * `text-<color>-500`) then outline stars up to five.
 */
export function starsHtml(stars: number, color: string): string {
  const colorClass = `text-${escapeHtml(color)}-500`;
  const filled = Math.max(0, Math.min(stars, 5));
  const lines = [`<div class="flex gap-x-1 ${colorClass}">`];
  for (let n = 0; n < filled; n++) {
    lines.push(
      `  <svg id="glyphicon glyphicon-star" class="h-5 w-5 flex-none ${colorClass}" viewBox="0 0 20 20" fill="currentColor" aria-hidden="true">`,
      `    <path fill-rule="evenodd" d="${FILLED_PATH}" clip-rule="evenodd" />`,
      '  </svg>',
    );
  }
  for (let n = filled; n < 5; n++) {
    lines.push(
      '  <svg data-star="outline" xmlns="http://www.w3.org/2000/svg" fill="none" viewBox="0 0 24 24" stroke-width="1.5" stroke="currentColor" class="h-5 w-5 flex-none">',
      `    <path stroke-linecap="round" stroke-linejoin="round" d="${OUTLINE_PATH}" />`,
      '  </svg>',
    );
  }
  lines.push('</div>');
  return lines.join('\n');
}
