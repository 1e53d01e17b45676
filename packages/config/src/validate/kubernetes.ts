/** Rules of the Kubernetes workload kinds Sluice runs, beyond the schema. */
import { isDns1035Label, isDns1123Label } from '../names.js';
import { childPath } from '../paths.js';
import type { FindingCollector } from './collector.js';
import { checkLabels } from './metadata.js';
import { isObj, listAt, numAt, objAt, strAt } from './values.js';

export function validateServiceSpec(spec: unknown, out: FindingCollector): void {
  if (!isObj(spec)) return;
  const ports = listAt(spec, 'ports');
  const names = new Map<string, number>();
  const numbers = new Map<string, number>();
  ports.forEach((port, i) => {
    if (!isObj(port)) return;
    const p = `spec.ports[${i}]`;
    const name = strAt(port, 'name');
    if (name === undefined || name === '') {
      if (ports.length > 1)
        out.add('servicePortName', `${p}.name`, `${p} needs a name: a Service with several ports must name each`);
    } else {
      if (!isDns1123Label(name))
        out.add('servicePortName', `${p}.name`, `port name ${JSON.stringify(name)} is not a DNS-1123 label`);
      const first = names.get(name);
      if (first !== undefined)
        out.add(
          'servicePortName',
          `${p}.name`,
          `port name ${JSON.stringify(name)} is already used by spec.ports[${first}]`,
        );
      else names.set(name, i);
    }
    const number = numAt(port, 'port');
    const key = `${number}/${strAt(port, 'protocol') ?? 'TCP'}`;
    if (number !== undefined) {
      const first = numbers.get(key);
      if (first !== undefined)
        out.add('duplicatePortNumber', `${p}.port`, `port ${key} is already used by spec.ports[${first}]`);
      else numbers.set(key, i);
    }
    const target = numAt(port, 'targetPort');
    if (target !== undefined && (target < 1 || target > 65535))
      out.add('portOutOfRange', `${p}.targetPort`, `targetPort ${target} is outside 1–65535`);
    const targetName = strAt(port, 'targetPort');
    if (targetName !== undefined && !isDns1035Label(targetName) && !/^\d+$/.test(targetName))
      out.add(
        'servicePortName',
        `${p}.targetPort`,
        `targetPort ${JSON.stringify(targetName)} is neither a port number nor a container port name`,
      );
  });
  const selector = objAt(spec, 'selector');
  if (selector) checkLabels(selector, 'spec.selector', out);
}

export function validatePodTemplateSpec(spec: unknown, path: string, out: FindingCollector): void {
  const names = new Map<string, number>();
  listAt(spec, 'containers').forEach((c, i) => {
    const name = strAt(c, 'name');
    if (name === undefined) return;
    const p = childPath(`${path}.containers`, i);
    if (!isDns1123Label(name))
      out.add('containerName', `${p}.name`, `container name ${JSON.stringify(name)} is not a DNS-1123 label`);
    const first = names.get(name);
    if (first !== undefined)
      out.add(
        'containerName',
        `${p}.name`,
        `container name ${JSON.stringify(name)} is already used by ${path}.containers[${first}]`,
      );
    else names.set(name, i);
  });
}

export function validateDeploymentSpec(spec: unknown, out: FindingCollector): void {
  if (!isObj(spec)) return;
  const template = objAt(spec, 'template');
  const templateLabels = objAt(objAt(template, 'metadata'), 'labels') ?? {};
  checkLabels(templateLabels, 'spec.template.metadata.labels', out);
  const matchLabels = objAt(objAt(spec, 'selector'), 'matchLabels');
  if (matchLabels) {
    checkLabels(matchLabels, 'spec.selector.matchLabels', out);
    for (const [k, v] of Object.entries(matchLabels)) {
      if (templateLabels[k] !== v)
        out.add(
          'selectorMismatch',
          childPath('spec.selector.matchLabels', k),
          `selector ${k}=${String(v)} does not match the template labels, so the Deployment would select none of its own pods`,
          `add ${k}: ${String(v)} to spec.template.metadata.labels`,
        );
    }
  }
  validatePodTemplateSpec(objAt(template, 'spec'), 'spec.template.spec', out);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function validateSecretData(data: unknown, out: FindingCollector): void {
  if (!isObj(data)) return;
  for (const [key, value] of Object.entries(data)) {
    if (typeof value === 'string' && !BASE64.test(value.replace(/\s+/g, '')))
      out.add(
        'secretNotBase64',
        childPath('data', key),
        `data.${key} is not base64`,
        'put plain text under stringData instead',
      );
  }
}
