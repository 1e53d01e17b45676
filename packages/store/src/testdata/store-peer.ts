/**
 * A store client in its own process, driven over stdin/stdout with one JSON object per line.
 * argv[2]: a PeerSpec. Commands: {"op":"create","obj":…}, {"op":"get","key":…},
 * {"op":"watch","fromRevision":"…","kind":"…"}, {"op":"close"}.
 * Replies: {"ready":true}, {"reply":…} or {"error":{"code","message"}}, and {"event":…} per watch event.
 */
import { createInterface } from 'node:readline';
import { openPeerStore, type PeerSpec } from '../peer-spec.js';
import { StoreError } from '../types.js';

const spec = JSON.parse(process.argv[2] ?? '') as PeerSpec;
const store = await openPeerStore(spec);
const print = (v: unknown) => process.stdout.write(`${JSON.stringify(v)}\n`);

const lines = createInterface({ input: process.stdin });
print({ ready: true });
for await (const line of lines) {
  const cmd = JSON.parse(line) as { op: string; obj?: never; key?: never; fromRevision?: string; kind?: string };
  try {
    if (cmd.op === 'create') print({ reply: await store.create(cmd.obj as never) });
    else if (cmd.op === 'get') print({ reply: (await store.get(cmd.key as never)) ?? null });
    else if (cmd.op === 'watch') {
      const opts =
        cmd.kind === undefined
          ? { fromRevision: cmd.fromRevision ?? '0' }
          : { fromRevision: cmd.fromRevision ?? '0', kind: cmd.kind };
      store.watch(
        opts,
        (event) => print({ event }),
        (err) => print({ watchError: { code: err instanceof StoreError ? err.code : 'Error', message: err.message } }),
      );
      print({ reply: 'watching' });
    } else if (cmd.op === 'close') break;
  } catch (err) {
    print({ error: { code: err instanceof StoreError ? err.code : 'Error', message: (err as Error).message } });
  }
}
await store.close();
process.exit(0);
