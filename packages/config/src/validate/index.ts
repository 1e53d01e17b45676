/**
 * validateResource: every problem of one resource — envelope, metadata, schema, and the rules of
 * its kind — as findings with field paths. Never throws, never stops at the first problem.
 */
import { KINDS, kindInfo } from '../kinds.js';
import type { Finding, ParsedResource, Resource } from '../resource.js';
import { FindingCollector } from './collector.js';
import { validateDestinationRule } from './destination-rule.js';
import { ISTIO_SPECS, meshConfigSpec } from './istio-schemas.js';
import { K8S_SPECS, K8S_TOP_LEVEL } from './k8s-schemas.js';
import {
  validateDeploymentSpec,
  validatePodTemplateSpec,
  validateSecretData,
  validateServiceSpec,
} from './kubernetes.js';
import { validateMetadata } from './metadata.js';
import { checkSchema, closest, type ObjectSchema } from './schema.js';
import { validateServiceEntry } from './service-entry.js';
import { validateSidecar } from './sidecar.js';
import { isObj } from './values.js';
import { validateVirtualService } from './virtual-service.js';
import { validateWorkloadEntrySpec } from './workload-entry.js';

const ENVELOPE = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
/** Top-level fields of Kubernetes kinds that Sluice does not support. */
const K8S_TOP_UNSUPPORTED: Record<string, readonly string[]> = {
  ServiceAccount: ['secrets', 'imagePullSecrets', 'automountServiceAccountToken'],
  Secret: ['immutable'],
};
const NO_SPEC = new Set(['ServiceAccount', 'Secret']);

function apiVersionOf(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

/** The apiVersions that serve each kind, e.g. ServiceEntry → networking.istio.io/v1, …/v1beta1. */
const SERVED = new Map(KINDS.map((k) => [k.kind, k.versions.map((v) => apiVersionOf(k.group, v))]));

export function validateResource(resource: Resource | ParsedResource): Finding[] {
  const out = new FindingCollector(resource);
  if (!isObj(resource)) {
    out.add('wrongType', '', 'a resource must be an object');
    return out.findings;
  }
  const r = resource as unknown as Record<string, unknown>;
  const kind = r['kind'];
  const apiVersion = r['apiVersion'];
  if (typeof apiVersion !== 'string' || apiVersion === '')
    out.add('missingTypeMeta', 'apiVersion', 'apiVersion is required (e.g. networking.istio.io/v1)');
  if (typeof kind !== 'string' || kind === '') {
    out.add('missingTypeMeta', 'kind', 'kind is required (e.g. ServiceEntry)');
    return out.findings;
  }
  const info = kindInfo(kind);
  if (!info) {
    const near = closest(
      kind,
      KINDS.map((k) => k.kind),
    );
    out.add(
      'unknownKind',
      'kind',
      `kind ${JSON.stringify(kind)} is not one Sluice knows`,
      near ? `did you mean ${near}?` : `known kinds: ${KINDS.map((k) => k.kind).join(', ')}`,
    );
    return out.findings;
  }
  if (typeof apiVersion === 'string' && apiVersion !== '') {
    const served = SERVED.get(kind) ?? [];
    if (!served.includes(apiVersion))
      out.add(
        'wrongApiVersion',
        'apiVersion',
        `apiVersion ${JSON.stringify(apiVersion)} does not serve kind ${kind}`,
        `use ${served.join(' or ')}`,
      );
  }

  const isK8s = info.group === '' || info.group === 'apps';
  const extraTop = K8S_TOP_LEVEL[kind] ?? {};
  const sourceIsOrigin =
    'source' in r && isObj(r['source']) && typeof (r['source'] as Record<string, unknown>)['file'] === 'string';
  for (const [key, value] of Object.entries(r)) {
    if (ENVELOPE.has(key) || (key === 'source' && sourceIsOrigin)) continue;
    const schema = extraTop[key];
    if (schema) {
      if (value !== null) checkSchema(value, schema, key, out);
    } else if (K8S_TOP_UNSUPPORTED[kind]?.includes(key) || isK8s) {
      out.add('unsupportedField', key, `field ${key} is not supported by Sluice and is ignored`);
    } else {
      out.add('unknownField', key, `unknown field ${JSON.stringify(key)}; it is ignored`);
    }
  }

  validateMetadata(r['metadata'], kind, out);

  const spec = r['spec'];
  const specSchema: ObjectSchema | undefined =
    ISTIO_SPECS[kind] ?? K8S_SPECS[kind] ?? (kind === 'MeshConfig' ? meshConfigSpec : undefined);
  if (NO_SPEC.has(kind)) {
    if (spec !== undefined) out.add('unsupportedField', 'spec', `${kind} has no spec; it is ignored`);
  } else if (spec === undefined || spec === null) {
    if (info.group === 'networking.istio.io' || kind === 'Deployment')
      out.add('requiredField', 'spec', 'spec is required');
  } else if (specSchema && checkSchema(spec, specSchema, 'spec', out)) {
    switch (kind) {
      case 'ServiceEntry':
        validateServiceEntry(spec, out);
        break;
      case 'VirtualService':
        validateVirtualService(spec, out);
        break;
      case 'DestinationRule':
        validateDestinationRule(spec, out);
        break;
      case 'Sidecar':
        validateSidecar(spec, out);
        break;
      case 'WorkloadEntry':
        validateWorkloadEntrySpec(spec, 'spec', out);
        break;
      case 'Service':
        validateServiceSpec(spec, out);
        break;
      case 'Deployment':
        validateDeploymentSpec(spec, out);
        break;
      case 'Pod':
        validatePodTemplateSpec(spec, 'spec', out);
        break;
    }
  }
  if (kind === 'Secret') validateSecretData(r['data'], out);
  return out.findings;
}
