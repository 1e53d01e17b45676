/**
 * Envoy's StringMatcher (exact, prefix, suffix, contains, safe_regex; ignore_case).
 * A safe_regex must match the whole value, as RE2's full match does in Envoy.
 */
export type StringMatcher = (value: string) => boolean;

export interface RawStringMatcher {
  exact?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  safe_regex?: { regex?: string };
  ignore_case?: boolean;
}

/** Compiles a full-match regular expression; throws SyntaxError on a bad pattern. */
export function fullMatchRegex(pattern: string, ignoreCase = false): RegExp {
  return new RegExp(`^(?:${pattern})$`, ignoreCase ? 'i' : '');
}

/** Compiles a validated StringMatcher. */
export function compileStringMatcher(raw: RawStringMatcher): StringMatcher {
  const ic = raw.ignore_case === true;
  const norm = (s: string) => (ic ? s.toLowerCase() : s);
  if (raw.exact !== undefined) {
    const want = norm(raw.exact);
    return (v) => norm(v) === want;
  }
  if (raw.prefix !== undefined) {
    const want = norm(raw.prefix);
    return (v) => norm(v).startsWith(want);
  }
  if (raw.suffix !== undefined) {
    const want = norm(raw.suffix);
    return (v) => norm(v).endsWith(want);
  }
  if (raw.contains !== undefined) {
    const want = norm(raw.contains);
    return (v) => norm(v).includes(want);
  }
  if (raw.safe_regex?.regex !== undefined) {
    const re = fullMatchRegex(raw.safe_regex.regex, ic);
    return (v) => re.test(v);
  }
  // proto default: an empty exact match
  return (v) => v === '';
}
