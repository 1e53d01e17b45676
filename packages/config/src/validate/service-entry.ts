/** ServiceEntry rules (istio-semantics.md "ServiceEntry"), beyond the structural schema. */

import { hostProblem, ipOrCidrProblem, isDns1123Label, isFqdn, isIp, isPartialWildcard } from '../names.js';
import { childPath } from '../paths.js';
import type { FindingCollector } from './collector.js';
import { isHttpProtocol, isKnownProtocol, isTlsProtocol, KNOWN_PROTOCOLS } from './protocols.js';
import { closest } from './schema.js';
import { isObj, listAt, numAt, objAt, strAt, strings } from './values.js';
import { validateWorkloadEntrySpec } from './workload-entry.js';

export function validateServiceEntry(spec: unknown, out: FindingCollector): void {
  if (!isObj(spec)) return;
  const resolution = strAt(spec, 'resolution') ?? 'NONE';
  const hostsValue = spec['hosts'];
  const hosts = strings(listAt(spec, 'hosts'));
  if (hostsValue === undefined || hostsValue === null || (Array.isArray(hostsValue) && hostsValue.length === 0)) {
    out.add('seNoHosts', 'spec.hosts', 'a ServiceEntry needs at least one host in spec.hosts');
  }
  for (const [host, i] of hosts) {
    const p = childPath('spec.hosts', i);
    if (host === '*') {
      out.add(
        'seHostStar',
        p,
        'host "*" is not allowed in a ServiceEntry',
        'name the external hosts, e.g. "*.example.com"',
      );
      continue;
    }
    const problem = hostProblem(host);
    if (problem) out.add('invalidHost', p, `host ${JSON.stringify(host)} is not valid: ${problem}`);
    else if (isPartialWildcard(host))
      out.add(
        'partialWildcard',
        p,
        `host ${JSON.stringify(host)} is a partial wildcard`,
        `use a whole-label wildcard like "*.${host.replace(/^\*+/, '').replace(/^\./, '')}"`,
      );
  }

  let cidrIndex = -1;
  for (const [address, i] of strings(listAt(spec, 'addresses'))) {
    const problem = ipOrCidrProblem(address);
    if (problem)
      out.add(
        'invalidAddress',
        childPath('spec.addresses', i),
        `address ${JSON.stringify(address)} is not valid: ${problem}`,
      );
    else if (address.includes('/') && cidrIndex < 0) cidrIndex = i;
  }
  if (cidrIndex >= 0 && resolution !== 'NONE' && resolution !== 'STATIC') {
    out.add(
      'cidrNeedsNoneOrStatic',
      childPath('spec.addresses', cidrIndex),
      `CIDR addresses are only allowed with resolution NONE or STATIC, not ${resolution}`,
      'use single IP addresses, or change spec.resolution',
    );
  }

  const portNames = new Map<string, number>();
  const portNumbers = new Map<number, number>();
  let nonHttpTlsPort = -1;
  listAt(spec, 'ports').forEach((port, i) => {
    if (!isObj(port)) return;
    const p = childPath('spec.ports', i);
    const number = numAt(port, 'number');
    if (number !== undefined && Number.isInteger(number)) {
      if (number < 1 || number > 65535)
        out.add('portOutOfRange', `${p}.number`, `port number ${number} is outside 1–65535`);
      const first = portNumbers.get(number);
      if (first !== undefined)
        out.add('duplicatePortNumber', `${p}.number`, `port number ${number} is already used by spec.ports[${first}]`);
      else portNumbers.set(number, i);
    }
    const targetPort = numAt(port, 'targetPort');
    if (targetPort !== undefined && (targetPort < 1 || targetPort > 65535))
      out.add('portOutOfRange', `${p}.targetPort`, `targetPort ${targetPort} is outside 1–65535`);
    const name = port['name'];
    if (name === undefined || name === null || name === '') {
      out.add(
        'invalidPortName',
        `${p}.name`,
        `spec.ports[${i}] needs a name`,
        'name ports after their protocol, e.g. "tcp" or "mysql"',
      );
    } else if (typeof name === 'string') {
      if (!isDns1123Label(name))
        out.add(
          'invalidPortName',
          `${p}.name`,
          `port name ${JSON.stringify(name)} is not a DNS-1123 label (lowercase letters, digits and "-")`,
        );
      const first = portNames.get(name);
      if (first !== undefined)
        out.add(
          'duplicatePortName',
          `${p}.name`,
          `port name ${JSON.stringify(name)} is already used by spec.ports[${first}]`,
        );
      else portNames.set(name, i);
    }
    const protocol = strAt(port, 'protocol');
    if (protocol !== undefined && !isKnownProtocol(protocol)) {
      const near = closest(protocol, KNOWN_PROTOCOLS);
      out.add(
        'unknownProtocol',
        `${p}.protocol`,
        `protocol ${JSON.stringify(protocol)} is not supported`,
        `use one of ${KNOWN_PROTOCOLS.join(', ')}${near ? ` (did you mean ${near}?)` : ''}`,
      );
    }
    if (protocol?.toUpperCase() === 'UDP')
      out.add(
        'udpCarriesNothing',
        `${p}.protocol`,
        `port ${number ?? ''} is UDP: accepted, but Sluice carries no UDP traffic`,
      );
    if (nonHttpTlsPort < 0 && !isHttpProtocol(protocol) && !isTlsProtocol(protocol)) nonHttpTlsPort = i;
  });

  checkAddressesRequired(spec, out);
  if (resolution !== 'NONE' && hosts.length > 1 && nonHttpTlsPort >= 0) {
    out.add(
      'multipleHostsTcp',
      'spec.hosts',
      `multiple hosts are not allowed with resolution ${resolution} when a port is not HTTP or TLS (spec.ports[${nonHttpTlsPort}]): plain TCP cannot tell the hosts apart`,
      'use one ServiceEntry per host, or resolution NONE',
    );
  }

  const endpoints = listAt(spec, 'endpoints');
  const hasEndpoints = Array.isArray(spec['endpoints']);
  const selector = objAt(spec, 'workloadSelector');
  if (selector && hasEndpoints) {
    out.add(
      'selectorAndEndpoints',
      'spec.workloadSelector',
      'only one of spec.workloadSelector and spec.endpoints may be set',
    );
  }
  if (resolution === 'NONE') {
    if (endpoints.length > 0)
      out.add(
        'endpointsWithNone',
        'spec.endpoints',
        'resolution NONE takes no endpoints: traffic goes to the original destination',
        'remove spec.endpoints or set resolution STATIC',
      );
    if (selector)
      out.add('selectorWithNone', 'spec.workloadSelector', 'spec.workloadSelector has no effect with resolution NONE');
  }
  if (resolution === 'STATIC') {
    endpoints.forEach((ep, i) => {
      const address = strAt(ep, 'address');
      if (address !== undefined && !isIp(address) && !address.startsWith('unix://'))
        out.add(
          'staticEndpointNotIp',
          `spec.endpoints[${i}].address`,
          `endpoint address ${JSON.stringify(address)} is not an IP address, as resolution STATIC requires`,
        );
    });
  }
  endpoints.forEach((ep, i) => {
    const p = childPath('spec.endpoints', i);
    validateWorkloadEntrySpec(ep, p, out, resolution === 'STATIC');
    const epPorts = objAt(ep, 'ports');
    if (!epPorts) return;
    for (const name of Object.keys(epPorts)) {
      if (!portNames.has(name))
        out.add(
          'endpointPortUndefined',
          childPath(`${p}.ports`, name),
          `endpoint port ${JSON.stringify(name)} is not defined by the entry's spec.ports`,
          portNames.size > 0 ? `defined port names: ${[...portNames.keys()].join(', ')}` : undefined,
        );
    }
  });
  if (resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') {
    if (endpoints.length === 0) {
      for (const [host, i] of hosts) {
        if (host !== '*' && !isFqdn(host))
          out.add(
            'dnsHostNotFqdn',
            childPath('spec.hosts', i),
            `host ${JSON.stringify(host)} must be a fully qualified name (no wildcard) when resolution is ${resolution} and there are no endpoints`,
          );
      }
    }
    if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1) {
      out.add(
        'dnsRoundRobinEndpoints',
        'spec.endpoints',
        `resolution DNS_ROUND_ROBIN takes 0 or 1 endpoint, got ${endpoints.length}`,
        'use resolution DNS for several endpoints',
      );
    }
  }
}

/** IST0134: each TCP (or unset-protocol) port of an entry without addresses. Shared by validation and analysis. */
export function checkAddressesRequired(spec: unknown, out: FindingCollector): void {
  if (listAt(spec, 'addresses').length > 0) return;
  listAt(spec, 'ports').forEach((port, i) => {
    if (!isObj(port)) return;
    const protocol = strAt(port, 'protocol');
    if (protocol !== undefined && protocol !== '' && protocol.toUpperCase() !== 'TCP') return;
    out.add(
      'addressesRequired',
      `spec.ports[${i}]`,
      `addresses are required for ports serving TCP (or unset) protocol: port ${numAt(port, 'number') ?? '?'} with no spec.addresses claims every IP on that port`,
      'list the external IPs or CIDRs in spec.addresses',
    );
  });
}
