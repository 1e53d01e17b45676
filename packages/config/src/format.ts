/**
 * formatFindings: findings as text for people, grouped by resource (or by file for input that did
 * not become a resource), errors first, in the style of kubectl and istioctl.
 */
import type { Finding } from './resource.js';

export interface FormatOptions {
  color: boolean;
}

const SGR = { red: '31', yellow: '33', cyan: '36', bold: '1', dim: '2' } as const;

function paint(on: boolean, style: keyof typeof SGR, text: string): string {
  return on ? `\u001b[${SGR[style]}m${text}\u001b[0m` : text;
}

const LABEL = { error: 'Error', warning: 'Warning', info: 'Info' } as const;
const COLOR = { error: 'red', warning: 'yellow', info: 'cyan' } as const;
const RANK = { error: 0, warning: 1, info: 2 } as const;

function groupKey(f: Finding): string {
  if (f.resource)
    return `${f.resource.kind} ${f.resource.namespace ? `${f.resource.namespace}/` : ''}${f.resource.name}`;
  return f.source?.file ?? '(input)';
}

/** Drops repeated findings (same code, resource, path and message), keeping the first. */
export function dedupeFindings(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = JSON.stringify([f.code, f.resource, f.source?.file, f.source?.document, f.path, f.message]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function formatFindings(findings: readonly Finding[], options: FormatOptions): string {
  const { color } = options;
  if (findings.length === 0) return `${paint(color, 'bold', '✔ No validation issues found.')}\n`;
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    const key = `${f.source?.file ?? ''}\u0000${f.source?.document ?? ''}\u0000${groupKey(f)}`;
    const list = groups.get(key) ?? [];
    list.push(f);
    groups.set(key, list);
  }
  const lines: string[] = [];
  for (const list of groups.values()) {
    const first = list[0] as Finding;
    const where = first.source && first.resource ? ` (${first.source.file}, document ${first.source.document})` : '';
    lines.push(paint(color, 'bold', `${groupKey(first)}${where}`));
    const sorted = [...list].sort(
      (a, b) => RANK[a.severity] - RANK[b.severity] || (a.source?.line ?? 0) - (b.source?.line ?? 0),
    );
    for (const f of sorted) {
      const loc = f.source ? `${f.source.file}:${f.source.line}` : '';
      const path = f.path ? `${f.path} ` : '';
      const label = paint(color, COLOR[f.severity], `${LABEL[f.severity]} [${f.code}]`);
      lines.push(`  ${label} ${path}${loc ? paint(color, 'dim', `(${loc})`) : ''}`.trimEnd());
      lines.push(`    ${f.message}`);
      if (f.hint) lines.push(paint(color, 'dim', `    hint: ${f.hint}`));
    }
    lines.push('');
  }
  const count = (s: Finding['severity']) => findings.filter((f) => f.severity === s).length;
  const parts = [`${count('error')} error(s)`, `${count('warning')} warning(s)`];
  if (count('info') > 0) parts.push(`${count('info')} info`);
  lines.push(`${parts.join(', ')} in ${groups.size} ${groups.size === 1 ? 'object' : 'objects'}`);
  return `${lines.join('\n')}\n`;
}
