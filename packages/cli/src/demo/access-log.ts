/**
 * Finds, in the sidecar access logs the node agent writes per pod, the line of a connection the
 * mesh black-holed: Istio's BlackHoleCluster with flag UH, for a given destination and workload.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface BlockedConnection {
  /** The access-log line as written (JSON). */
  line: string;
  pod: string;
  source_workload: string;
  destination: string;
  upstream_cluster: string;
  response_flags: string;
  start_time: string;
}

/** Every BlackHoleCluster line for `destination` (ip:port) in the sidecar logs of pods named `<podPrefix>…`. */
export function findBlockedConnections(podLogDir: string, podPrefix: string, destination: string): BlockedConnection[] {
  const out: BlockedConnection[] = [];
  let dirs: string[];
  try {
    dirs = readdirSync(podLogDir).filter((d) => d.replace(/^[^_]*_/, '').startsWith(podPrefix));
  } catch {
    return out;
  }
  for (const dir of dirs) {
    let text = '';
    try {
      text = readFileSync(path.join(podLogDir, dir, 'sidecar.log'), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.includes('BlackHoleCluster') || !line.startsWith('{')) continue;
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (e.upstream_cluster !== 'BlackHoleCluster' || e.downstream_local_address !== destination) continue;
      out.push({
        line,
        pod: dir.replace(/^[^_]*_/, ''),
        source_workload: String(e.source_workload),
        destination: String(e.downstream_local_address),
        upstream_cluster: String(e.upstream_cluster),
        response_flags: String(e.response_flags),
        start_time: String(e.start_time),
      });
    }
  }
  return out;
}
