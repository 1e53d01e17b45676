/**
 * Random mutations of manifests for fuzz and differential tests: value swaps on parsed objects and
 * text edits (deletions, stray YAML indicators, duplicated lines, truncation). Deterministic per seed.
 */

export type Pick = (n: number) => number;

/** xorshift32: a small deterministic generator; `pick(n)` is in [0, n). */
export function prng(seed: number): Pick {
  let x = seed || 1;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

const SAMPLES = [null, true, 0, -1, 65536, 1.5, '', '*', '3306', 'x'.repeat(300), [], {}, [null], { a: { b: [] } }];

export function mutateValue(value: unknown, pick: Pick): unknown {
  if (Array.isArray(value)) {
    if (value.length === 0 || pick(4) === 0) return SAMPLES[pick(SAMPLES.length)];
    const copy = [...value];
    const i = pick(copy.length);
    if (pick(3) === 0) copy.splice(i, 1);
    else if (pick(2) === 0) copy.push(copy[i]);
    else copy[i] = mutateValue(copy[i], pick);
    return copy;
  }
  if (typeof value === 'object' && value !== null) {
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(copy);
    if (keys.length === 0 || pick(5) === 0) return SAMPLES[pick(SAMPLES.length)];
    const k = keys[pick(keys.length)] as string;
    const action = pick(4);
    if (action === 0) delete copy[k];
    else if (action === 1) {
      copy[`${k}x`] = copy[k];
      delete copy[k];
    } else copy[k] = mutateValue(copy[k], pick);
    return copy;
  }
  return SAMPLES[pick(SAMPLES.length)];
}

export function mutateText(text: string, pick: Pick): string {
  const at = pick(text.length + 1);
  switch (pick(4)) {
    case 0:
      return text.slice(0, at) + text.slice(at + 1 + pick(20));
    case 1:
      return text.slice(0, at) + ':-[]{}#&*!|>\'"%@`\t\n '[pick(20)] + text.slice(at);
    case 2: {
      const lines = text.split('\n');
      const i = pick(lines.length);
      lines.splice(i, 0, lines[pick(lines.length)] ?? '');
      return lines.join('\n');
    }
    default:
      return text.slice(0, at);
  }
}
