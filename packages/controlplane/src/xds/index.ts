export type { ConfigSnapshot, GeneratedResources, PortConflict, ProxyInfo } from '../translate/types.js';
export { ChangeNotifier, type ConfigSource, StaticConfigSource } from './config-source.js';
export { XdsListenError, XdsServerClosedError } from './errors.js';
export { silentLogger, type XdsLogger } from './logger.js';
export type { XdsMetrics } from './metrics.js';
export type { XdsTypeName } from './resource-types.js';
export type { NackInfo, ProxyStatus, SyncState, TypeStatus, WaitForAcksResult } from './status.js';
export { StoreConfigSource, TRANSLATED_KINDS } from './store-config-source.js';
export { XdsServer, type XdsServerOptions } from './xds-server.js';
