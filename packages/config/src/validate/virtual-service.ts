/** VirtualService rules (istio-semantics.md "VirtualService / DestinationRule"), beyond the schema. */
import { hostCovers } from '../hosts.js';
import { hostProblem, ipOrCidrProblem, isDns1123Label, isIp } from '../names.js';
import { childPath } from '../paths.js';
import type { FindingCollector } from './collector.js';
import { isObj, listAt, numAt, objAt, strAt, strings } from './values.js';

export function validateVirtualService(spec: unknown, out: FindingCollector): void {
  if (!isObj(spec)) return;
  const gateways = strings(listAt(spec, 'gateways')).map(([g]) => g);
  const boundToMesh = gateways.length === 0 || gateways.includes('mesh');
  const hosts = strings(listAt(spec, 'hosts'));
  if (hosts.length === 0 && listAt(spec, 'hosts').length === 0) {
    out.add('vsNoHosts', 'spec.hosts', 'a VirtualService needs at least one host in spec.hosts');
  }
  for (const [host, i] of hosts) {
    const p = childPath('spec.hosts', i);
    if (host === '*') {
      if (boundToMesh)
        out.add(
          'vsInvalidHost',
          p,
          'host "*" is not allowed for a VirtualService bound to the mesh',
          'name the hosts this VirtualService routes',
        );
      continue;
    }
    if (isIp(host)) continue;
    const problem = hostProblem(host);
    if (problem) out.add('vsInvalidHost', p, `host ${JSON.stringify(host)} is not valid: ${problem}`);
  }
  const http = listAt(spec, 'http');
  const tcp = listAt(spec, 'tcp');
  const tls = listAt(spec, 'tls');
  if (http.length + tcp.length + tls.length === 0) {
    out.add('vsNoRoutes', 'spec', 'a VirtualService needs at least one of spec.http, spec.tcp or spec.tls');
  }
  http.forEach((rule, i) => {
    validateHttpRule(rule, `spec.http[${i}]`, out);
  });
  tcp.forEach((rule, i) => {
    const p = `spec.tcp[${i}]`;
    if (!isObj(rule)) return;
    listAt(rule, 'match').forEach((m, j) => {
      validateL4Match(m, `${p}.match[${j}]`, out);
    });
    validateRoutes(rule, p, out);
  });
  tls.forEach((rule, i) => {
    const p = `spec.tls[${i}]`;
    if (!isObj(rule)) return;
    const matches = listAt(rule, 'match');
    if (matches.length === 0) out.add('tlsMatchRequired', `${p}.match`, `${p} needs at least one match with sniHosts`);
    matches.forEach((m, j) => {
      const mp = `${p}.match[${j}]`;
      validateL4Match(m, mp, out);
      const sni = strings(listAt(m, 'sniHosts'));
      if (sni.length === 0)
        out.add('sniHostsRequired', `${mp}.sniHosts`, `${mp} needs at least one SNI host in sniHosts`);
      for (const [name, k] of sni) {
        if (!hosts.some(([h]) => hostCovers(h, name)))
          out.add(
            'sniNotInHosts',
            childPath(`${mp}.sniHosts`, k),
            `SNI host ${JSON.stringify(name)} is not covered by any of the VirtualService hosts (${hosts.map(([h]) => h).join(', ')})`,
          );
      }
    });
    validateRoutes(rule, p, out);
  });
}

function validateHttpRule(rule: unknown, p: string, out: FindingCollector): void {
  if (!isObj(rule)) return;
  const hasRoute = listAt(rule, 'route').length > 0;
  const hasRedirect = isObj(rule['redirect']);
  if (hasRoute && hasRedirect)
    out.add('routeAndRedirect', `${p}.redirect`, `${p} sets both route and redirect; only one is allowed`);
  if (!hasRoute && !hasRedirect && rule['directResponse'] === undefined)
    out.add('routeMissing', `${p}.route`, `${p} needs a route (or a redirect)`);
  if (hasRoute) validateRoutes(rule, p, out);
  listAt(rule, 'match').forEach((m, j) => {
    const mp = `${p}.match[${j}]`;
    if (!isObj(m)) return;
    for (const key of ['uri', 'scheme', 'method', 'authority']) {
      const sm = objAt(m, key);
      if (sm) validateStringMatch(sm, `${mp}.${key}`, out);
    }
    for (const key of ['headers', 'queryParams', 'withoutHeaders']) {
      const map = objAt(m, key);
      if (!map) continue;
      for (const [name, sm] of Object.entries(map))
        if (isObj(sm)) validateStringMatch(sm, childPath(`${mp}.${key}`, name), out);
    }
    checkPort(numAt(m, 'port'), `${mp}.port`, out);
  });
  const fault = objAt(rule, 'fault');
  const delay = objAt(fault, 'delay');
  if (delay) {
    if (delay['fixedDelay'] === undefined)
      out.add('faultIncomplete', `${p}.fault.delay.fixedDelay`, `${p}.fault.delay needs fixedDelay`);
    checkPercentage(delay, `${p}.fault.delay`, out);
  }
  const abort = objAt(fault, 'abort');
  if (abort) {
    const status = numAt(abort, 'httpStatus');
    if (abort['httpStatus'] === undefined)
      out.add('faultIncomplete', `${p}.fault.abort.httpStatus`, `${p}.fault.abort needs httpStatus`);
    else if (status !== undefined && (status < 200 || status > 599))
      out.add('invalidHttpStatus', `${p}.fault.abort.httpStatus`, `HTTP status ${status} is outside 200–599`);
    checkPercentage(abort, `${p}.fault.abort`, out);
  }
  const mirror = objAt(rule, 'mirror');
  if (mirror) validateDestination(mirror, `${p}.mirror`, out);
}

function checkPercentage(o: Record<string, unknown>, p: string, out: FindingCollector): void {
  const value = numAt(objAt(o, 'percentage'), 'value');
  if (value !== undefined && (value < 0 || value > 100))
    out.add('invalidPercentage', `${p}.percentage.value`, `percentage ${value} is outside 0–100`);
  const percent = numAt(o, 'percent');
  if (percent !== undefined && (percent < 0 || percent > 100))
    out.add('invalidPercentage', `${p}.percent`, `percent ${percent} is outside 0–100`);
}

/** Compile results of recently seen regexes (many routes repeat the same few). */
const regexProblems = new Map<string, string | undefined>();
const MAX_REMEMBERED_REGEXES = 1000;

/** Why `regex` does not compile, or undefined when it does. */
function regexProblem(regex: string): string | undefined {
  if (regexProblems.has(regex)) return regexProblems.get(regex);
  let problem: string | undefined;
  try {
    new RegExp(regex);
  } catch (err) {
    problem = (err as Error).message;
  }
  if (regexProblems.size >= MAX_REMEMBERED_REGEXES) regexProblems.clear();
  regexProblems.set(regex, problem);
  return problem;
}

function validateStringMatch(sm: Record<string, unknown>, p: string, out: FindingCollector): void {
  const set = ['exact', 'prefix', 'regex'].filter((k) => sm[k] !== undefined);
  if (set.length > 1)
    out.add('invalidStringMatch', p, `${p} sets ${set.join(' and ')}; use only one of exact, prefix or regex`);
  const regex = strAt(sm, 'regex');
  if (regex !== undefined) {
    const problem = regexProblem(regex);
    if (problem !== undefined)
      out.add('invalidStringMatch', `${p}.regex`, `regex ${JSON.stringify(regex)} does not compile: ${problem}`);
  }
}

function validateL4Match(m: unknown, p: string, out: FindingCollector): void {
  if (!isObj(m)) return;
  for (const [subnet, k] of strings(listAt(m, 'destinationSubnets'))) {
    const problem = ipOrCidrProblem(subnet);
    if (problem)
      out.add(
        'invalidSubnet',
        childPath(`${p}.destinationSubnets`, k),
        `destination subnet ${JSON.stringify(subnet)} is not valid: ${problem}`,
      );
  }
  checkPort(numAt(m, 'port'), `${p}.port`, out);
}

function checkPort(port: number | undefined, p: string, out: FindingCollector): void {
  if (port !== undefined && Number.isInteger(port) && (port < 1 || port > 65535))
    out.add('portOutOfRange', p, `port ${port} is outside 1–65535`);
}

function validateDestination(d: Record<string, unknown>, p: string, out: FindingCollector): void {
  const host = strAt(d, 'host');
  if (host === '') out.add('destinationHost', `${p}.host`, `${p}.host is required`);
  else if (host !== undefined && !isIp(host)) {
    const problem = host === '*' ? 'a destination cannot be a wildcard' : hostProblem(host, false);
    if (problem)
      out.add('destinationHost', `${p}.host`, `destination host ${JSON.stringify(host)} is not valid: ${problem}`);
  }
  const subset = strAt(d, 'subset');
  if (subset !== undefined && !isDns1123Label(subset))
    out.add('invalidSubsetName', `${p}.subset`, `subset name ${JSON.stringify(subset)} is not a DNS-1123 label`);
  checkPort(numAt(objAt(d, 'port'), 'number'), `${p}.port.number`, out);
}

function validateRoutes(rule: Record<string, unknown>, p: string, out: FindingCollector): void {
  const routes = listAt(rule, 'route');
  if (routes.length === 0) {
    out.add('routeMissing', `${p}.route`, `${p} needs at least one route destination`);
    return;
  }
  let total = 0;
  routes.forEach((r, k) => {
    const rp = `${p}.route[${k}]`;
    const dest = objAt(r, 'destination');
    if (dest) validateDestination(dest, `${rp}.destination`, out);
    const weight = numAt(r, 'weight');
    if (weight !== undefined) {
      if (weight < 0) out.add('negativeWeight', `${rp}.weight`, `weight ${weight} is negative`);
      else total += weight;
    }
  });
  if (routes.length > 1 && total === 0)
    out.add(
      'zeroTotalWeight',
      `${p}.route`,
      `the ${routes.length} routes of ${p} have a total weight of 0, so none gets traffic`,
      'give each route a weight, e.g. 50 and 50',
    );
}
