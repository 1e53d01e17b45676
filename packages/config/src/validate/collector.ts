/**
 * Collects the findings of one resource: each with its rule's code and severity, the resource's
 * reference, and the source line of the field path when the resource came from the parser.
 */
import { RULES, type RuleName } from '../codes.js';
import { kindInfo } from '../kinds.js';
import { lineOf } from '../lines.js';
import type { Finding, ParsedResource, Resource, ResourceRef } from '../resource.js';

export function resourceRef(resource: Resource): ResourceRef | undefined {
  const meta = (resource as { metadata?: unknown }).metadata;
  const name = typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>)['name'] : undefined;
  const ns = typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>)['namespace'] : undefined;
  const kind = typeof resource.kind === 'string' ? resource.kind : '';
  const namespaced = kindInfo(kind)?.namespaced ?? true;
  return {
    kind,
    namespace: namespaced ? (typeof ns === 'string' && ns !== '' ? ns : 'default') : '',
    name: typeof name === 'string' ? name : '',
  };
}

export class FindingCollector {
  readonly findings: Finding[] = [];
  readonly ref: ResourceRef | undefined;

  constructor(readonly resource: Resource | ParsedResource) {
    this.ref = resourceRef(resource);
  }

  add(rule: RuleName, path: string, message: string, hint?: string): void {
    const info = RULES[rule];
    const f: Finding = { severity: info.severity, code: info.code, message, path };
    if (hint !== undefined) f.hint = hint;
    if (this.ref) f.resource = this.ref;
    const source = (this.resource as Partial<ParsedResource>).source;
    if (source)
      f.source = { file: source.file, document: source.document, line: lineOf(this.resource, path) ?? source.line };
    this.findings.push(f);
  }
}
