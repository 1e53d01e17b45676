/**
 * A scan of YAML text for how deeply its flow collections (`[…]`, `{…}`) nest, made before the YAML
 * parser sees the text. The parser builds a syntax node per level before it notices anything, so a
 * 3 MiB body of `[` costs it seconds of CPU and gigabytes of memory; this scan is linear and light.
 * Block nesting needs no such guard: each level costs one more column of indentation, so a body
 * within the size limit cannot nest blocks more than a few thousand levels.
 *
 * The scan skips comments, quoted scalars and block scalars, and counts an opening bracket only
 * where a node may start; a miscount errs towards counting a bracket that is really text.
 */

export interface TextPosition {
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

const isSpace = (c: string | undefined) => c === ' ' || c === '\t';
const isBreak = (c: string | undefined) => c === '\n' || c === '\r';
const isBlank = (c: string | undefined) => c === undefined || isSpace(c) || isBreak(c);

/** Where the first flow collection nested deeper than `limit` opens, or undefined when none does. */
export function yamlFlowTooDeepAt(text: string, limit: number): TextPosition | undefined {
  let depth = 0;
  let nodeStart = true;
  let lineStart = 0;
  let line = 1;
  let i = 0;
  const newline = (at: number) => {
    line++;
    lineStart = at + 1;
  };
  const indentOf = (start: number) => {
    let k = start;
    while (text[k] === ' ') k++;
    return k - start;
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      newline(i);
      if (depth === 0) nodeStart = true;
      i++;
      continue;
    }
    if (isSpace(c) || c === '\r') {
      i++;
      continue;
    }
    if (c === '#' && (i === lineStart || isBlank(text[i - 1]))) {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (nodeStart && (c === '"' || c === "'")) {
      // A quoted scalar: `\"` escapes in double quotes, `''` in single quotes; it may span lines.
      i++;
      while (i < text.length) {
        const q = text[i]!;
        if (q === '\n') newline(i);
        if (c === '"' && q === '\\') i += text[i + 1] === '\n' ? 1 : 2;
        else if (q === c && c === "'" && text[i + 1] === "'") i += 2;
        else if (q === c) break;
        else i++;
      }
      i++;
      nodeStart = false;
      continue;
    }
    if (nodeStart && depth === 0 && (c === '|' || c === '>')) {
      // A block scalar: its text is every following line indented more than the line it starts on.
      const parentIndent = indentOf(lineStart);
      while (i < text.length && text[i] !== '\n') i++;
      while (i < text.length) {
        const next = i + 1;
        let end = text.indexOf('\n', next);
        if (end < 0) end = text.length;
        const blank = text.slice(next, end).trim() === '';
        if (!blank && indentOf(next) <= parentIndent) break;
        newline(i);
        i = end;
      }
      continue;
    }
    if (nodeStart && (c === '&' || c === '!')) {
      // An anchor or tag comes before its node: the node may still start after it.
      while (i < text.length && !isBlank(text[i])) i++;
      continue;
    }
    if (c === '[' || c === '{') {
      if (nodeStart || depth > 0) {
        depth++;
        if (depth > limit) return { line, column: i - lineStart + 1 };
        nodeStart = true;
      }
      i++;
      continue;
    }
    if ((c === ']' || c === '}') && depth > 0) {
      depth--;
      nodeStart = false;
      i++;
      continue;
    }
    if (c === ',' && depth > 0) nodeStart = true;
    else if (c === ':' && (depth > 0 || isBlank(text[i + 1]))) nodeStart = true;
    else if ((c === '-' || c === '?') && isBlank(text[i + 1]) && nodeStart) nodeStart = true;
    else nodeStart = false;
    i++;
  }
  return undefined;
}
