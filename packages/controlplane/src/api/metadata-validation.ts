/**
 * The checks the Kubernetes API server itself makes on every object before any kind-specific
 * validation: names, namespace, labels, annotations. Returns Status causes; never throws.
 */
import type { KindInfo } from '@sluice/config';
import type { StatusCause } from './status.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

const invalid = (field: string, value: unknown, message: string): StatusCause => ({
  field,
  reason: 'FieldValueInvalid',
  message: `Invalid value: ${JSON.stringify(value)}: ${message}`,
});

/** How a kind's names are checked (Kubernetes: Services and Namespaces are labels, the rest subdomains). */
function nameRule(kind: KindInfo): { max: number; re: RegExp; msg: string } {
  if (kind.kind === 'Service') return { max: 63, re: DNS1035_LABEL, msg: DNS1035_MSG };
  if (kind.kind === 'Namespace') return { max: 63, re: DNS1123_LABEL, msg: LABEL_MSG };
  return { max: 253, re: DNS1123_SUBDOMAIN, msg: SUBDOMAIN_MSG };
}

export function validateName(kind: KindInfo, name: unknown, field = 'metadata.name'): StatusCause[] {
  if (name === undefined || name === null || name === '')
    return [{ field, reason: 'FieldValueRequired', message: 'Required value: name or generateName is required' }];
  if (typeof name !== 'string') return [invalid(field, name, 'must be a string')];
  const rule = nameRule(kind);
  const causes: StatusCause[] = [];
  if (name.length > rule.max) causes.push(invalid(field, name, `must be no more than ${rule.max} characters`));
  if (!rule.re.test(name)) causes.push(invalid(field, name, rule.msg));
  return causes;
}

export function validateNamespaceName(ns: string): StatusCause[] {
  const causes: StatusCause[] = [];
  if (ns.length > 63) causes.push(invalid('metadata.namespace', ns, 'must be no more than 63 characters'));
  if (!DNS1123_LABEL.test(ns)) causes.push(invalid('metadata.namespace', ns, LABEL_MSG));
  return causes;
}

function validateQualifiedKey(field: string, key: string): StatusCause[] {
  const parts = key.split('/');
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  const prefix = parts.length === 2 ? parts[0]! : undefined;
  const bad =
    parts.length > 2 ||
    name.length === 0 ||
    name.length > 63 ||
    !QUALIFIED_NAME.test(name) ||
    (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)));
  return bad
    ? [
        invalid(
          field,
          key,
          "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc'), with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        ),
      ]
    : [];
}

function isStringMap(v: unknown): v is Record<string, string> {
  return (
    v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')
  );
}

/** Checks metadata.labels and metadata.annotations. */
export function validateLabelsAndAnnotations(meta: Record<string, unknown>): StatusCause[] {
  const causes: StatusCause[] = [];
  const labels = meta['labels'];
  if (labels !== undefined && labels !== null) {
    if (!isStringMap(labels))
      causes.push(invalid('metadata.labels', labels, 'must be a map of string keys to string values'));
    else
      for (const [k, v] of Object.entries(labels)) {
        causes.push(...validateQualifiedKey('metadata.labels', k));
        if (v.length > 63 || !LABEL_VALUE.test(v))
          causes.push(
            invalid(
              'metadata.labels',
              v,
              "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, at most 63 characters",
            ),
          );
      }
  }
  const annotations = meta['annotations'];
  if (annotations !== undefined && annotations !== null) {
    if (!isStringMap(annotations))
      causes.push(invalid('metadata.annotations', annotations, 'must be a map of string keys to string values'));
    else {
      let size = 0;
      for (const [k, v] of Object.entries(annotations)) {
        causes.push(...validateQualifiedKey('metadata.annotations', k));
        size += k.length + v.length;
      }
      if (size > MAX_ANNOTATIONS_BYTES)
        causes.push({
          field: 'metadata.annotations',
          reason: 'FieldValueTooLong',
          message: `Too long: must have at most ${MAX_ANNOTATIONS_BYTES} bytes`,
        });
    }
  }
  return causes;
}
