import { after, before } from 'node:test';
import { registerStoreConformance } from './conformance.js';
import { type EtcdProcess, startEtcd } from './etcd-process.js';
import { openEtcdStore } from './etcd-store.js';

let etcd: EtcdProcess | undefined;
before(async () => {
  etcd = await startEtcd();
});
after(() => etcd?.stop());
let spaces = 0;

function endpoints(): string[] {
  if (!etcd) throw new Error('etcd did not start');
  return etcd.endpoints;
}

registerStoreConformance({
  name: 'etcd',
  async createSpace({ historyLimit }) {
    const prefix = `slt-store-test-${process.pid}-${++spaces}`;
    return {
      open: async () => openEtcdStore({ endpoints: endpoints(), prefix, historyLimit }),
      peer: { backend: 'etcd', endpoints: endpoints(), prefix, historyLimit },
      destroy: async () => {
        // Each space has its own prefix in an etcd that is removed with the test file.
      },
    };
  },
});
