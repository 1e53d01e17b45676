/**
 * metadata rules: name required and shaped as Kubernetes requires for the kind, namespace a
 * DNS-1123 label, labels and annotations string maps with valid keys (and label values).
 */
import { type KindInfo, kindInfo } from '../kinds.js';
import { isDns1035Label, isDns1123Label, isDns1123Subdomain, labelKeyProblem, labelValueProblem } from '../names.js';
import { childPath } from '../paths.js';
import type { FindingCollector } from './collector.js';
import { checkSchema, int, type ObjectSchema, obj, str, stringMap } from './schema.js';

const metadataSchema: ObjectSchema = obj(
  {
    name: str,
    namespace: str,
    labels: stringMap,
    annotations: stringMap,
    resourceVersion: str,
    generation: int,
    creationTimestamp: str,
    uid: str,
  },
  {
    unsupported: [
      'generateName',
      'ownerReferences',
      'finalizers',
      'managedFields',
      'selfLink',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'clusterName',
    ],
  },
);

/** Kinds whose names Kubernetes restricts to a DNS-1035 label (Service) or DNS-1123 label (Namespace). */
function nameRule(kind: string): { check: (s: string) => boolean; what: string } {
  if (kind === 'Service')
    return {
      check: isDns1035Label,
      what: 'a DNS-1035 label (lowercase letters, digits and "-", starting with a letter, at most 63 characters)',
    };
  if (kind === 'Namespace')
    return {
      check: isDns1123Label,
      what: 'a DNS-1123 label (lowercase letters, digits and "-", at most 63 characters)',
    };
  return {
    check: isDns1123Subdomain,
    what: 'a DNS-1123 subdomain (lowercase letters, digits, "-" and ".", at most 253 characters)',
  };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function validateMetadata(metadata: unknown, kind: string, out: FindingCollector): void {
  if (metadata === undefined || metadata === null) {
    out.add('invalidName', 'metadata.name', 'metadata.name is required', 'add metadata: {name: <name>}');
    return;
  }
  if (!checkSchema(metadata, metadataSchema, 'metadata', out)) return;
  const meta = metadata as Record<string, unknown>;
  const info: KindInfo | undefined = kindInfo(kind);
  const name = meta['name'];
  if (name === undefined || name === null || name === '') {
    out.add('invalidName', 'metadata.name', 'metadata.name is required');
  } else if (typeof name === 'string') {
    if (kind === 'MeshConfig') {
      if (name !== 'mesh')
        out.add(
          'meshConfigName',
          'metadata.name',
          `MeshConfig is named ${JSON.stringify(name)}; the one mesh-wide object must be named "mesh"`,
        );
    } else {
      const rule = nameRule(kind);
      if (!rule.check(name))
        out.add(
          'invalidName',
          'metadata.name',
          `metadata.name ${JSON.stringify(name)} is not valid: it must be ${rule.what}`,
        );
    }
  }
  const ns = meta['namespace'];
  if (typeof ns === 'string' && ns !== '') {
    if (info && !info.namespaced) {
      out.add(
        'namespaceOnClusterScoped',
        'metadata.namespace',
        `${kind} is cluster-scoped; metadata.namespace ${JSON.stringify(ns)} is ignored`,
      );
    } else if (!isDns1123Label(ns)) {
      out.add(
        'invalidNamespace',
        'metadata.namespace',
        `metadata.namespace ${JSON.stringify(ns)} is not a valid DNS-1123 label`,
      );
    }
  }
  const labels = meta['labels'];
  if (typeof labels === 'object' && labels !== null && !Array.isArray(labels)) {
    checkLabels(labels as Record<string, unknown>, 'metadata.labels', out);
  }
  const annotations = meta['annotations'];
  if (typeof annotations === 'object' && annotations !== null && !Array.isArray(annotations)) {
    for (const key of Object.keys(annotations)) {
      const problem = labelKeyProblem(key);
      if (problem)
        out.add(
          'invalidAnnotation',
          childPath('metadata.annotations', key),
          `annotation key ${JSON.stringify(key)} is not valid: ${problem}`,
        );
    }
  }
  const created = meta['creationTimestamp'];
  if (typeof created === 'string' && !RFC3339.test(created)) {
    out.add(
      'invalidTimestamp',
      'metadata.creationTimestamp',
      `metadata.creationTimestamp ${JSON.stringify(created)} is not an RFC 3339 time`,
      'write it like 2024-05-01T12:00:00Z',
    );
  }
}

/** Checks keys and values of a label map (metadata.labels, selectors, subset labels). */
export function checkLabels(labels: Record<string, unknown>, path: string, out: FindingCollector): void {
  for (const [key, value] of Object.entries(labels)) {
    const p = childPath(path, key);
    const keyProblem = labelKeyProblem(key);
    if (keyProblem) out.add('invalidLabel', p, `label key ${JSON.stringify(key)} is not valid: ${keyProblem}`);
    if (typeof value === 'string') {
      const valueProblem = labelValueProblem(value);
      if (valueProblem)
        out.add(
          'invalidLabel',
          p,
          `label value ${JSON.stringify(value)} of ${JSON.stringify(key)} is not valid: ${valueProblem}`,
        );
    }
  }
}
