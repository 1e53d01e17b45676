/** IST0101 (host, host+subset not found) and IST0112 (port needed) for VirtualService destinations. */
import { resolveHost } from '../hosts.js';
import { isObj, listAt, numAt, objAt, strAt } from '../validate/values.js';
import type { Entry, Registry } from './registry.js';

/** Every destination of a VirtualService with its field path. */
export function destinationsOf(vs: Entry): { path: string; dest: Record<string, unknown> }[] {
  const found: { path: string; dest: Record<string, unknown> }[] = [];
  for (const section of ['http', 'tcp', 'tls']) {
    listAt(vs.spec, section).forEach((rule, i) => {
      listAt(rule, 'route').forEach((route, k) => {
        const dest = objAt(route, 'destination');
        if (dest) found.push({ path: `spec.${section}[${i}].route[${k}].destination`, dest });
      });
      const mirror = objAt(rule, 'mirror');
      if (section === 'http' && mirror) found.push({ path: `spec.http[${i}].mirror`, dest: mirror });
    });
  }
  return found;
}

export function checkDestinations(registry: Registry): void {
  for (const vs of registry.of('VirtualService')) {
    for (const { path, dest } of destinationsOf(vs)) {
      const host = strAt(dest, 'host');
      if (!host) continue;
      const fqdn = resolveHost(host, vs.namespace);
      const service = registry.lookup(fqdn);
      if (!service) {
        vs.out.add(
          'referencedNotFound',
          `${path}.host`,
          `referenced host not found: ${JSON.stringify(host)}${fqdn !== host ? ` (${fqdn})` : ''}`,
          'define a Service or a ServiceEntry for this host, or fix its spelling',
        );
        continue;
      }
      const subset = strAt(dest, 'subset');
      if (subset !== undefined) {
        const defined = registry
          .destinationRulesFor(fqdn)
          .some((dr) => listAt(dr.spec, 'subsets').some((s) => isObj(s) && s['name'] === subset));
        if (!defined)
          vs.out.add(
            'referencedNotFound',
            `${path}.subset`,
            `referenced host+subset in destinationrule not found: "${host}+${subset}"`,
            `define subset ${JSON.stringify(subset)} in a DestinationRule for ${fqdn}`,
          );
      }
      if (numAt(objAt(dest, 'port'), 'number') === undefined && service.ports.length > 1) {
        vs.out.add(
          'destinationPortRequired',
          path,
          `${host} exposes several ports (${service.ports.map((p) => p.number).join(', ')}); the destination must name one in port.number`,
          `add port: {number: ${service.ports[0]?.number}} to the destination`,
        );
      }
    }
  }
}
