/**
 * Parses a string the way Ruby's `Integer()` does (details reads its product id with it):
 * surrounding whitespace, an optional sign, the prefixes 0b, 0o, 0 (octal), 0d and 0x, and single
 * underscores between digits. Returns undefined where Ruby would raise.
 */
export function rubyInteger(text: string): bigint | undefined {
  const match = /^\s*([+-]?)(0[bBoOdDxX])?([0-9a-fA-F]+(?:_[0-9a-fA-F]+)*)\s*$/.exec(text);
  if (!match) return undefined;
  const [, sign = '', prefix = '', rawDigits = ''] = match;
  const leadingZero = prefix === '' && rawDigits.length > 1 && rawDigits.startsWith('0');
  const radix = radixOf(leadingZero ? '0' : prefix);
  const digits = rawDigits.replaceAll('_', '').toLowerCase();
  const allowed = '0123456789abcdef'.slice(0, radix);
  for (const ch of digits) if (!allowed.includes(ch)) return undefined;
  let value = 0n;
  for (const ch of digits) value = value * BigInt(radix) + BigInt(allowed.indexOf(ch));
  return sign === '-' ? -value : value;
}

function radixOf(prefix: string): number {
  switch (prefix.toLowerCase()) {
    case '0b':
      return 2;
    case '0o':
    case '0':
      return 8;
    case '0x':
      return 16;
    default:
      return 10;
  }
}
