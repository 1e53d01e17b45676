/**
 * The product page's Prometheus counter `request_result` (labels destination_app, response_code),
 * exposed in the text format as `request_result_total` like a Prometheus client library does.
 */
export class RequestResultCounter {
  private readonly counts = new Map<string, { app: string; code: number; value: number }>();

  inc(destinationApp: string, responseCode: number): void {
    const key = `${destinationApp}\u0000${responseCode}`;
    const entry = this.counts.get(key) ?? { app: destinationApp, code: responseCode, value: 0 };
    entry.value += 1;
    this.counts.set(key, entry);
  }

  /** Prometheus text exposition format 0.0.4. */
  render(): string {
    const lines = ['# HELP request_result_total Results of requests', '# TYPE request_result_total counter'];
    for (const { app, code, value } of this.counts.values()) {
      lines.push(
        `request_result_total{destination_app="${escapeLabel(app)}",response_code="${code}"} ${value.toFixed(1)}`,
      );
    }
    return `${lines.join('\n')}\n`;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}
