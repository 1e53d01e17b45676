/**
 * `fieldSelector` as Kubernetes supports it for custom resources: `metadata.name` and
 * `metadata.namespace` with `=`, `==` and `!=`, terms joined by commas.
 */
import { errors } from './status.js';

interface Term {
  field: 'metadata.name' | 'metadata.namespace';
  value: string;
  negated: boolean;
}

export type FieldSelector = (obj: { metadata: { name: string; namespace?: string } }) => boolean;

export function parseFieldSelector(text: string | null): FieldSelector {
  if (!text) return () => true;
  const terms: Term[] = text.split(',').map((raw) => {
    const m = /^\s*([a-zA-Z.]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(raw);
    if (!m) throw errors.badRequest(`invalid field selector "${raw}": expected field=value or field!=value`);
    const field = m[1]!;
    if (field !== 'metadata.name' && field !== 'metadata.namespace')
      throw errors.badRequest(
        `field label not supported: "${field}" (supported: "metadata.name", "metadata.namespace")`,
      );
    return { field, value: m[3]!, negated: m[2] === '!=' };
  });
  return (obj) =>
    terms.every((t) => {
      const v = t.field === 'metadata.name' ? obj.metadata.name : (obj.metadata.namespace ?? '');
      return (v === t.value) !== t.negated;
    });
}

/** The name an exact `metadata.name=X` term pins the selection to, if any. */
export function selectedName(text: string | null): string | undefined {
  if (!text) return undefined;
  for (const raw of text.split(',')) {
    const m = /^\s*metadata\.name\s*==?\s*(.*?)\s*$/.exec(raw);
    if (m) return m[1];
  }
  return undefined;
}
