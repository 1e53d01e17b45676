export { type ConformanceBackend, type ConformanceSpace, registerStoreConformance } from './conformance.js';
export { type EtcdProcess, type StartEtcdOptions, startEtcd } from './etcd-process.js';
export { EtcdStore, type EtcdStoreOptions, openEtcdStore } from './etcd-store.js';
export {
  type LabelRequirement,
  type LabelSelector,
  type LabelSelectorOperator,
  matchesLabelSelector,
  parseLabelSelector,
} from './label-selector.js';
export { openPeerStore, type PeerSpec } from './peer-spec.js';
export { openSqliteStore, SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
export * from './types.js';
