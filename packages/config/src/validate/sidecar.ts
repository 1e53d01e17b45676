/** Sidecar rules, beyond the schema. */
import { hostProblem, isDns1123Label } from '../names.js';
import { childPath } from '../paths.js';
import type { FindingCollector } from './collector.js';
import { checkLabels } from './metadata.js';
import { isObj, listAt, numAt, objAt, strAt, strings } from './values.js';

export function validateSidecar(spec: unknown, out: FindingCollector): void {
  if (!isObj(spec)) return;
  const selector = objAt(objAt(spec, 'workloadSelector'), 'labels');
  if (selector) checkLabels(selector, 'spec.workloadSelector.labels', out);
  const egress = listAt(spec, 'egress');
  const ports = new Map<number, number>();
  egress.forEach((listener, i) => {
    const p = childPath('spec.egress', i);
    if (!isObj(listener)) return;
    const port = objAt(listener, 'port');
    if (!port && i !== egress.length - 1)
      out.add(
        'catchAllNotLast',
        p,
        `${p} has no port; only the last egress listener may omit it`,
        'move this listener to the end of spec.egress',
      );
    const number = numAt(port, 'number');
    if (number !== undefined) {
      if (number < 1 || number > 65535)
        out.add('portOutOfRange', `${p}.port.number`, `port ${number} is outside 1–65535`);
      const first = ports.get(number);
      if (first !== undefined)
        out.add('duplicateEgressPort', `${p}.port.number`, `port ${number} is already used by spec.egress[${first}]`);
      else ports.set(number, i);
    }
    const hosts = strings(listAt(listener, 'hosts'));
    if (listAt(listener, 'hosts').length === 0)
      out.add('egressNoHosts', `${p}.hosts`, `${p} needs at least one host like "./*" or "istio-system/*"`);
    for (const [host, k] of hosts) {
      const problem = egressHostProblem(host);
      if (problem)
        out.add(
          'egressHostFormat',
          childPath(`${p}.hosts`, k),
          `egress host ${JSON.stringify(host)} is not valid: ${problem}`,
          'write namespace/dnsName, e.g. "./*", "istio-system/*", "*/*.example.com"',
        );
    }
  });
  listAt(spec, 'ingress').forEach((listener, i) => {
    const number = numAt(objAt(listener, 'port'), 'number');
    if (number !== undefined && (number < 1 || number > 65535))
      out.add('portOutOfRange', `spec.ingress[${i}].port.number`, `port ${number} is outside 1–65535`);
  });
  const policy = objAt(spec, 'outboundTrafficPolicy');
  if (policy && policy['egressProxy'] !== undefined && (strAt(policy, 'mode') ?? 'ALLOW_ANY') !== 'ALLOW_ANY') {
    out.add(
      'egressProxyMode',
      'spec.outboundTrafficPolicy.egressProxy',
      'egressProxy may only be set when outboundTrafficPolicy.mode is ALLOW_ANY',
    );
  }
}

function egressHostProblem(host: string): string | undefined {
  const slash = host.indexOf('/');
  if (slash < 0) return 'it must have the form namespace/dnsName';
  const ns = host.slice(0, slash);
  const dns = host.slice(slash + 1);
  if (ns !== '*' && ns !== '.' && ns !== '~' && !isDns1123Label(ns))
    return `namespace ${JSON.stringify(ns)} must be "*", ".", "~" or a namespace name`;
  if (dns === '*') return undefined;
  const problem = hostProblem(dns);
  return problem ? `host part ${JSON.stringify(dns)}: ${problem}` : undefined;
}
