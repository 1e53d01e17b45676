/**
 * Kubernetes label selectors (`app=ratings,version!=v1,env in (a,b),!canary,tier`): a pure parser
 * and matcher. Parsed selectors are frozen plain data; a bad selector is a StoreError('Invalid')
 * whose message names the position and the rule broken.
 */
import { StoreError } from './types.js';

export type LabelSelectorOperator = 'Equals' | 'NotEquals' | 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

/** One comma-separated term. `values` is empty for Exists/DoesNotExist, one value for (Not)Equals. */
export interface LabelRequirement {
  key: string;
  operator: LabelSelectorOperator;
  values: readonly string[];
}

/** Every requirement must hold. An empty list matches every object. */
export type LabelSelector = readonly LabelRequirement[];

type Token =
  | { kind: 'id'; text: string; pos: number }
  | { kind: '!' | '=' | '==' | '!=' | '(' | ')' | ',' | 'end'; pos: number };

const NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function invalid(selector: string, pos: number, rule: string): StoreError {
  return new StoreError('Invalid', `invalid label selector ${JSON.stringify(selector)} at position ${pos}: ${rule}`);
}

function tokenize(selector: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < selector.length) {
    const c = selector[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = selector.slice(i, i + 2);
    if (two === '==' || two === '!=') {
      tokens.push({ kind: two, pos: i });
      i += 2;
      continue;
    }
    if (c === '!' || c === '=' || c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: c, pos: i });
      i++;
      continue;
    }
    if (c === '<' || c === '>') {
      throw invalid(selector, i, `operator '${c}' is not supported (use =, ==, !=, in, notin, exists or !exists)`);
    }
    const start = i;
    while (i < selector.length && !/[\s!=(),<>]/.test(selector[i] as string)) i++;
    tokens.push({ kind: 'id', text: selector.slice(start, i), pos: start });
  }
  tokens.push({ kind: 'end', pos: selector.length });
  return tokens;
}

function checkKey(selector: string, key: string, pos: number): void {
  const slash = key.indexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN_RE.test(prefix)) {
      throw invalid(
        selector,
        pos,
        `label key prefix ${JSON.stringify(prefix)} must be a DNS subdomain (lowercase, at most 253 characters)`,
      );
    }
  }
  if (name.length === 0 || name.length > 63 || !NAME_RE.test(name)) {
    throw invalid(
      selector,
      pos,
      `label key ${JSON.stringify(key)} must be at most 63 characters of [A-Za-z0-9-_.], starting and ending with a letter or digit, with an optional "prefix/"`,
    );
  }
}

function checkValue(selector: string, value: string, pos: number): void {
  if (value.length > 63 || (value.length > 0 && !NAME_RE.test(value))) {
    throw invalid(
      selector,
      pos,
      `label value ${JSON.stringify(value)} must be empty or at most 63 characters of [A-Za-z0-9-_.], starting and ending with a letter or digit`,
    );
  }
}

/** Parses a selector string; "" (or only spaces) yields the empty selector. Throws StoreError('Invalid'). */
export function parseLabelSelector(selector: string): LabelSelector {
  const tokens = tokenize(selector);
  const reqs: LabelRequirement[] = [];
  let p = 0;
  const peek = (): Token => tokens[p] as Token;
  const next = (): Token => tokens[p++] as Token;
  if (peek().kind === 'end') return Object.freeze(reqs);

  for (;;) {
    const first = next();
    if (first.kind === '!') {
      const key = next();
      if (key.kind !== 'id') throw invalid(selector, key.pos, "expected a label key after '!'");
      checkKey(selector, key.text, key.pos);
      reqs.push(Object.freeze({ key: key.text, operator: 'DoesNotExist', values: Object.freeze([]) }));
    } else if (first.kind === 'id') {
      checkKey(selector, first.text, first.pos);
      const op = peek();
      if (op.kind === ',' || op.kind === 'end') {
        reqs.push(Object.freeze({ key: first.text, operator: 'Exists', values: Object.freeze([]) }));
      } else if (op.kind === '=' || op.kind === '==' || op.kind === '!=') {
        next();
        const v = peek();
        let value = '';
        if (v.kind === 'id') {
          next();
          value = v.text;
          checkValue(selector, value, v.pos);
        } else if (v.kind !== ',' && v.kind !== 'end') {
          throw invalid(selector, v.pos, `expected a label value after '${op.kind}'`);
        }
        const operator = op.kind === '!=' ? 'NotEquals' : 'Equals';
        reqs.push(Object.freeze({ key: first.text, operator, values: Object.freeze([value]) }));
      } else if (op.kind === 'id' && (op.text === 'in' || op.text === 'notin')) {
        next();
        const open = next();
        if (open.kind !== '(') throw invalid(selector, open.pos, `expected '(' after '${op.text}'`);
        const values: string[] = [];
        for (;;) {
          const v = next();
          if (v.kind === 'id') {
            checkValue(selector, v.text, v.pos);
            values.push(v.text);
            const sep = next();
            if (sep.kind === ')') break;
            if (sep.kind === 'end')
              throw invalid(selector, sep.pos, `unterminated value set after '${op.text}' (missing ')')`);
            if (sep.kind !== ',') throw invalid(selector, sep.pos, "expected ',' or ')' in a value set");
          } else if (v.kind === ',') {
            values.push(''); // an empty value between commas, as Kubernetes allows
          } else if (v.kind === ')') {
            if (values.length === 0 && tokens[p - 2]?.kind === '(') {
              throw invalid(selector, v.pos, `the value set of '${op.text}' must not be empty`);
            }
            values.push('');
            break;
          } else {
            throw invalid(selector, v.pos, `unterminated value set after '${op.text}' (missing ')')`);
          }
        }
        const operator = op.text === 'in' ? 'In' : 'NotIn';
        reqs.push(Object.freeze({ key: first.text, operator, values: Object.freeze([...new Set(values)].sort()) }));
      } else {
        const what = op.kind === 'id' ? JSON.stringify(op.text) : `'${op.kind}'`;
        throw invalid(
          selector,
          op.pos,
          `expected =, ==, !=, in, notin, ',' or the end after key ${JSON.stringify(first.text)}, found ${what}`,
        );
      }
    } else {
      const what = first.kind === 'end' ? 'the end' : `'${first.kind}'`;
      throw invalid(selector, first.pos, `expected a label key or '!key', found ${what}`);
    }
    const sep = next();
    if (sep.kind === 'end') break;
    if (sep.kind !== ',') throw invalid(selector, sep.pos, "expected ',' between requirements");
  }
  return Object.freeze(reqs);
}

/** True when `labels` satisfies every requirement. A string selector is parsed first (and may throw Invalid). */
export function matchesLabelSelector(
  selector: LabelSelector | string,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const reqs = typeof selector === 'string' ? parseLabelSelector(selector) : selector;
  const l = labels ?? {};
  for (const r of reqs) {
    const has = Object.hasOwn(l, r.key);
    const v = l[r.key];
    switch (r.operator) {
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      case 'Equals':
      case 'In':
        if (!has || !r.values.includes(v as string)) return false;
        break;
      case 'NotEquals':
      case 'NotIn':
        if (has && r.values.includes(v as string)) return false;
        break;
    }
  }
  return true;
}
