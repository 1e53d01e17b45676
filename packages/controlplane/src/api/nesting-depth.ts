/**
 * The nesting limit for request bodies and patched objects, checked iteratively so that a body of
 * 100,000 nested arrays is refused before any recursive code (validation, merge, clone, the store's
 * serialisation) can overflow the stack.
 */
import { errors } from './status.js';

/** Deepest nesting of objects and arrays accepted; the top-level object is level 1. */
export const MAX_NESTING_DEPTH = 100;

/** How many steps of the offending path an error message shows. */
const PATH_STEPS_SHOWN = 8;

interface Frame {
  value: object;
  depth: number;
  parent: Frame | undefined;
  key: string | number;
}

function pathOf(frame: Frame): string {
  const steps: (string | number)[] = [];
  for (let f: Frame | undefined = frame; f?.parent; f = f.parent) steps.push(f.key);
  steps.reverse();
  const shown = steps
    .slice(0, PATH_STEPS_SHOWN)
    .map((k, i) =>
      typeof k === 'number'
        ? `[${k}]`
        : /^[A-Za-z_$][\w$-]*$/.test(k)
          ? `${i ? '.' : ''}${k}`
          : `[${JSON.stringify(k)}]`,
    )
    .join('');
  return `${shown || '(the top level)'}${steps.length > PATH_STEPS_SHOWN ? '…' : ''}`;
}

/** The path to the first object or array nested deeper than `limit`, or undefined when none is. */
export function tooDeepAt(value: unknown, limit = MAX_NESTING_DEPTH): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const stack: Frame[] = [{ value, depth: 1, parent: undefined, key: '' }];
  for (let frame = stack.pop(); frame; frame = stack.pop()) {
    if (frame.depth > limit) return pathOf(frame);
    const entries: [string | number, unknown][] = Array.isArray(frame.value)
      ? frame.value.map((v, i) => [i, v])
      : Object.entries(frame.value);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      if (child !== null && typeof child === 'object')
        stack.push({ value: child, depth: frame.depth + 1, parent: frame, key });
    }
  }
  return undefined;
}

/** Throws BadRequest when `value` nests objects and arrays more than MAX_NESTING_DEPTH levels deep. */
export function checkNestingDepth(value: unknown, what = 'the request body'): void {
  const at = tooDeepAt(value);
  if (at !== undefined)
    throw errors.badRequest(
      `${what} nests objects and arrays more than ${MAX_NESTING_DEPTH} levels deep (at ${at}); flatten it`,
    );
}

/** How deep `value` nests objects and arrays (0 for a scalar) and how many values it holds. Iterative. */
export function shapeOf(value: unknown): { depth: number; values: number } {
  let depth = 0;
  let values = 0;
  const stack: [unknown, number][] = [[value, 1]];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [v, level] = top;
    values++;
    if (v === null || typeof v !== 'object') continue;
    if (level > depth) depth = level;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, level + 1]);
  }
  return { depth, values };
}
