/**
 * The demo's progress output: numbered steps, the exact commands run, what they printed, and a
 * verdict per step — "✔ <what it showed>" or "✘ FAILED: expected …; saw …".
 */
export interface StepVerdict {
  n: number;
  title: string;
  ok: boolean;
  /** What the step showed (or, when FAILED, what was expected and what was seen). */
  summary: string;
}

export class DemoReport {
  private n = 0;
  private current?: { n: number; title: string };
  readonly verdicts: StepVerdict[] = [];

  constructor(
    private readonly write: (text: string) => void,
    readonly total: number,
  ) {}

  begin(title: string): number {
    this.n++;
    this.current = { n: this.n, title };
    this.write(`\n[${this.n}/${this.total}] ${title}\n`);
    return this.n;
  }

  /** Says what happens next, indented. */
  say(text: string): void {
    for (const line of text.replace(/\n$/, '').split('\n')) this.write(`    ${line}\n`);
  }

  /** The exact command line, as typed in a shell. */
  command(line: string): void {
    for (const [i, l] of line.split('\n').entries()) this.write(`    ${i === 0 ? '$ ' : '  '}${l}\n`);
  }

  /** Output of a command or a view of the page, indented under it. */
  output(text: string): void {
    const t = text.replace(/\n+$/, '');
    if (!t) return;
    for (const line of t.split('\n')) this.write(`      ${line}\n`);
  }

  ok(summary: string): StepVerdict {
    return this.finish(true, summary);
  }

  fail(expected: string, seen: string): StepVerdict {
    return this.finish(false, `expected ${expected}; saw ${seen}`);
  }

  private finish(ok: boolean, summary: string): StepVerdict {
    const c = this.current ?? { n: this.n, title: '' };
    const v = { n: c.n, title: c.title, ok, summary };
    this.verdicts.push(v);
    this.write(ok ? `    ✔ ${summary}\n` : `    ✘ FAILED: ${summary}\n`);
    return v;
  }

  get allOk(): boolean {
    return this.verdicts.length > 0 && this.verdicts.every((v) => v.ok);
  }

  summaryLine(): string {
    const good = this.verdicts.filter((v) => v.ok).length;
    return `Demo result: ${good}/${this.total} steps showed what they should${this.allOk && good === this.total ? '.' : ' — see the FAILED lines above.'}`;
  }
}
