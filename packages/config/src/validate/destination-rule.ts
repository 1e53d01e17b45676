/** DestinationRule rules, beyond the schema. */
import { hostProblem, isDns1123Label } from '../names.js';
import { childPath } from '../paths.js';
import type { FindingCollector } from './collector.js';
import { checkLabels } from './metadata.js';
import { isObj, listAt, numAt, objAt, strAt } from './values.js';

export function validateDestinationRule(spec: unknown, out: FindingCollector): void {
  if (!isObj(spec)) return;
  const host = strAt(spec, 'host');
  if (host === '') out.add('drHost', 'spec.host', 'spec.host is required');
  else if (host !== undefined) {
    const problem = hostProblem(host);
    if (problem) out.add('drHost', 'spec.host', `host ${JSON.stringify(host)} is not valid: ${problem}`);
  }
  validateTrafficPolicy(objAt(spec, 'trafficPolicy'), 'spec.trafficPolicy', out);
  const names = new Map<string, number>();
  listAt(spec, 'subsets').forEach((subset, i) => {
    const p = childPath('spec.subsets', i);
    if (!isObj(subset)) return;
    const name = strAt(subset, 'name');
    if (name !== undefined) {
      if (!isDns1123Label(name))
        out.add(
          'invalidSubsetName',
          `${p}.name`,
          `subset name ${JSON.stringify(name)} is not a DNS-1123 label (lowercase letters, digits and "-")`,
        );
      const first = names.get(name);
      if (first !== undefined)
        out.add(
          'duplicateSubset',
          `${p}.name`,
          `subset name ${JSON.stringify(name)} is already used by spec.subsets[${first}]`,
        );
      else names.set(name, i);
    }
    const labels = objAt(subset, 'labels');
    if (labels) checkLabels(labels, `${p}.labels`, out);
    validateTrafficPolicy(objAt(subset, 'trafficPolicy'), `${p}.trafficPolicy`, out);
  });
  const selector = objAt(objAt(spec, 'workloadSelector'), 'labels');
  if (selector) checkLabels(selector, 'spec.workloadSelector.labels', out);
}

function validateTrafficPolicy(policy: Record<string, unknown> | undefined, p: string, out: FindingCollector): void {
  if (!policy) return;
  const ports = new Map<number, number>();
  listAt(policy, 'portLevelSettings').forEach((setting, i) => {
    const sp = `${p}.portLevelSettings[${i}]`;
    const number = numAt(objAt(setting, 'port'), 'number');
    if (number === undefined) return;
    if (number < 1 || number > 65535)
      out.add('portOutOfRange', `${sp}.port.number`, `port ${number} is outside 1–65535`);
    const first = ports.get(number);
    if (first !== undefined)
      out.add(
        'duplicatePortLevel',
        `${sp}.port.number`,
        `port ${number} already has settings in ${p}.portLevelSettings[${first}]`,
      );
    else ports.set(number, i);
  });
}
