/**
 * Writes to a store in a loop until killed, printing one line per acknowledged (returned) write:
 * `ACK {"name","resourceVersion","spec"}`. argv[2]: a PeerSpec. Bounded: 20,000 writes or 60 s.
 */
import { openPeerStore, type PeerSpec } from '../peer-spec.js';

const spec = JSON.parse(process.argv[2] ?? '') as PeerSpec;
const runId = process.argv[3] ?? 'run';
const store = await openPeerStore(spec);
const deadline = Date.now() + 60_000;
let counter = await store.get({ kind: 'ConfigMap', namespace: 'crash', name: 'counter' });
process.stdout.write('READY\n');

for (let i = 0; i < 20_000 && Date.now() < deadline; i++) {
  const name = `${runId}-${i}`;
  const body = { seq: i, payload: `${name}:${'x'.repeat(i % 200)}` };
  const created = await store.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'crash' },
    spec: body,
  });
  process.stdout.write(
    `ACK ${JSON.stringify({ name, resourceVersion: created.metadata.resourceVersion, spec: created.spec })}\n`,
  );
  if (i % 4 === 3) {
    const next = { value: `${runId}-${i}` };
    counter = counter
      ? await store.update({ ...counter, spec: next })
      : await store.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'counter', namespace: 'crash' },
          spec: next,
        });
    process.stdout.write(
      `ACK ${JSON.stringify({ name: 'counter', resourceVersion: counter.metadata.resourceVersion, spec: counter.spec })}\n`,
    );
  }
}
await store.close();
