import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { readAll, startServer, startTestProxy } from '../testing/harness.js';
import { blackHoleCluster, portListener, staticCluster, tcpChain, virtualOutbound } from '../testing/resources.js';

// Its own file: the engine is one per process and its thread count is fixed when it starts.
const HOST = '127.0.0.1';
const openFds = () => readdirSync('/proc/self/fd').length;

async function settle(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('native byte path with three relay threads', () => {
  test('concurrent connections spread over the threads each get their own bytes back, denials stay denied, fds come back', async (t) => {
    const echo = await startServer(HOST, (s) => s.pipe(s));
    t.after(() => echo.close());
    await new Promise((r) => setTimeout(r, 50));
    const before = openFds();
    const tp = await startTestProxy({ byteEngine: 'native', relayThreads: 3 });
    t.after(() => tp.proxy.destroy());
    await tp.proxy.applySnapshot({
      listeners: [virtualOutbound('REGISTRY_ONLY'), portListener('0.0.0.0', echo.port, [tcpChain('echo')])],
      clusters: [staticCluster('echo', [{ address: HOST, port: echo.port }]), blackHoleCluster()],
    });
    const count = 30;
    const payload = (i: number) => `conn ${i} `.repeat(2000 + i * 97);
    const replies = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const allowed = tp.connect({ address: '10.233.91.60', port: echo.port });
        const got = readAll(allowed);
        allowed.end(payload(i));
        const denied = await readAll(tp.connect({ address: '10.233.91.61', port: 9 }));
        return { echoed: (await got).toString(), denied: denied.length };
      }),
    );
    replies.forEach((r, i) => {
      assert.equal(r.echoed, payload(i), `connection ${i} got its own bytes back`);
      assert.equal(r.denied, 0, `denied connection ${i} got nothing`);
    });
    await settle(() => tp.log.entries.length >= count * 2, 'every access-log line');
    const relayed = tp.log.entries.filter((e) => e.upstream_cluster === 'echo');
    assert.equal(relayed.length, count);
    assert.deepEqual(
      relayed.map((e) => e.bytes_received).sort((a, b) => a - b),
      Array.from({ length: count }, (_, i) => payload(i).length),
    );
    assert.equal(tp.log.entries.filter((e) => e.upstream_cluster === 'BlackHoleCluster').length, count);
    await tp.proxy.destroy();
    await settle(() => openFds() <= before, `fds back to ${before} (now ${openFds()})`);
  });
});
