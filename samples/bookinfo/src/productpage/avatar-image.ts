import { encodePng, type Rgba } from './png-image.js';

type Point = readonly [number, number];

// The sailboat of the sign-in logo, in its 320 × 320 viewBox.
const SAILS: readonly (readonly Point[])[] = [
  [
    [80, 250],
    [240, 250],
    [140, 280],
  ],
  [
    [80, 240],
    [140, 230],
    [140, 120],
  ],
  [
    [150, 230],
    [240, 240],
    [150, 40],
  ],
];

function inside(polygon: readonly Point[], x: number, y: number): boolean {
  let result = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i] ?? [0, 0];
    const [xj, yj] = polygon[j] ?? [0, 0];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) result = !result;
  }
  return result;
}

const SIZE = 128;
const TRANSPARENT: Rgba = [0, 0, 0, 0];
const BACKGROUND: Rgba = [224, 233, 248, 255];
const SAIL: Rgba = [70, 107, 176, 255];

/** "Izzy", the reviewers' avatar: the sailboat on a round light-blue badge, 128 × 128 PNG. */
export function izzyPng(): Buffer {
  const centre = SIZE / 2;
  return encodePng(SIZE, SIZE, (x, y) => {
    const dx = x + 0.5 - centre;
    const dy = y + 0.5 - centre;
    if (dx * dx + dy * dy > centre * centre) return TRANSPARENT;
    const vx = ((x + 0.5) * 320) / SIZE;
    const vy = ((y + 0.5) * 320) / SIZE;
    return SAILS.some((sail) => inside(sail, vx, vy)) ? SAIL : BACKGROUND;
  });
}
