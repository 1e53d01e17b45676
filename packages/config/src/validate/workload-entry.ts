/** WorkloadEntry rules, shared with ServiceEntry endpoints. */
import { hostProblem, isIp } from '../names.js';
import { childPath } from '../paths.js';
import type { FindingCollector } from './collector.js';
import { checkLabels } from './metadata.js';
import { isObj, objAt, strAt } from './values.js';

/**
 * `path` is where the workload spec sits (`spec`, `spec.endpoints[2]`). With `staticOnly` the address
 * check is left to the caller (STATIC resolution has its own rule and message).
 */
export function validateWorkloadEntrySpec(
  spec: unknown,
  path: string,
  out: FindingCollector,
  staticOnly = false,
): void {
  if (!isObj(spec)) return;
  const address = strAt(spec, 'address');
  const network = strAt(spec, 'network');
  if ((address === undefined || address === '') && !network) {
    out.add(
      'workloadAddress',
      `${path}.address`,
      `${path}.address is required`,
      'give the IP address or host name of the workload',
    );
  } else if (address !== undefined && address !== '' && !staticOnly) {
    if (!isIp(address) && !address.startsWith('unix://') && hostProblem(address, false) !== undefined)
      out.add(
        'workloadAddress',
        `${path}.address`,
        `address ${JSON.stringify(address)} is not an IP address, a host name or a unix:// socket`,
      );
  }
  const ports = objAt(spec, 'ports');
  if (ports) {
    for (const [name, port] of Object.entries(ports)) {
      if (typeof port === 'number' && Number.isInteger(port) && (port < 1 || port > 65535))
        out.add('portOutOfRange', childPath(`${path}.ports`, name), `port ${name}: ${port} is outside 1–65535`);
    }
  }
  const labels = objAt(spec, 'labels');
  if (labels) checkLabels(labels, `${path}.labels`, out);
}
