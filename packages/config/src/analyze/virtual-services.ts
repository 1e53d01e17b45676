/** IST0109 (conflicting mesh hosts), IST0130 (unreachable rule), IST0131 (ineffective match). */
import { resolveHost } from '../hosts.js';
import { isObj, listAt, strings } from '../validate/values.js';
import type { Entry, Registry } from './registry.js';

export function checkConflictingHosts(registry: Registry): void {
  const owners = new Map<string, { vs: Entry; index: number }[]>();
  for (const vs of registry.of('VirtualService')) {
    const gateways = strings(listAt(vs.spec, 'gateways')).map(([g]) => g);
    if (gateways.length > 0 && !gateways.includes('mesh')) continue;
    const seen = new Set<string>();
    for (const [host, index] of strings(listAt(vs.spec, 'hosts'))) {
      const fqdn = resolveHost(host, vs.namespace);
      if (seen.has(fqdn)) continue;
      seen.add(fqdn);
      const list = owners.get(fqdn) ?? [];
      list.push({ vs, index });
      owners.set(fqdn, list);
    }
  }
  for (const [fqdn, list] of owners) {
    if (list.length < 2) continue;
    const names = list.map(({ vs }) => `${vs.namespace}/${vs.name}`);
    for (const { vs, index } of list) {
      vs.out.add(
        'conflictingVsHosts',
        `spec.hosts[${index}]`,
        `the VirtualServices ${names.join(', ')} all define host ${JSON.stringify(fqdn)} for the mesh; which one applies is undefined`,
        'merge them into a single VirtualService',
      );
    }
  }
}

/** Canonical JSON (sorted keys, `name` ignored) so equal matches compare equal. */
function matchKey(match: unknown): string {
  const canon = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canon);
    if (!isObj(v)) return v;
    return Object.fromEntries(
      Object.keys(v)
        .filter((k) => k !== 'name')
        .sort()
        .map((k) => [k, canon(v[k])]),
    );
  };
  return JSON.stringify(canon(match));
}

/** A match that every request satisfies: no attributes, or (HTTP) only `uri: {prefix: "/"}`. */
function matchesAll(match: unknown): boolean {
  if (!isObj(match)) return false;
  const keys = Object.keys(match).filter((k) => k !== 'name');
  if (keys.length === 0) return true;
  if (keys.length === 1 && keys[0] === 'uri') {
    const uri = match['uri'];
    return isObj(uri) && Object.keys(uri).length === 1 && uri['prefix'] === '/';
  }
  return false;
}

export function checkRuleReachability(registry: Registry): void {
  for (const vs of registry.of('VirtualService')) {
    for (const section of ['http', 'tcp', 'tls']) {
      const seen = new Map<string, number>();
      let catchAll = -1;
      listAt(vs.spec, section).forEach((rule, i) => {
        if (!isObj(rule)) return;
        const p = `spec.${section}[${i}]`;
        if (catchAll >= 0) {
          vs.out.add(
            'unreachableRule',
            p,
            `rule ${p} is never used: spec.${section}[${catchAll}] before it matches all traffic`,
            'move the catch-all rule to the end',
          );
          return;
        }
        const matches = listAt(rule, 'match');
        if (matches.length === 0 || matches.some(matchesAll)) {
          catchAll = i;
          return;
        }
        let duplicates = 0;
        matches.forEach((m, j) => {
          const key = matchKey(m);
          const first = seen.get(key);
          if (first !== undefined) {
            duplicates++;
            vs.out.add(
              'ineffectiveMatch',
              `${p}.match[${j}]`,
              `match ${p}.match[${j}] never applies: spec.${section}[${first}] has the same match and comes first`,
            );
          } else seen.set(key, i);
        });
        if (duplicates === matches.length)
          vs.out.add('unreachableRule', p, `rule ${p} is never used: all its matches are taken by earlier rules`);
      });
    }
  }
}
