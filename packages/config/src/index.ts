export {
  type AnalyzeOptions,
  analyze,
  type TcpPortConflict,
  tcpPortConflicts,
  type Workload,
  workloadsOf,
} from './analyze/index.js';
export * from './codec.js';
export * from './codes.js';
export { readManifestPaths } from './files.js';
export { dedupeFindings, type FormatOptions, formatFindings } from './format.js';
export * from './hosts.js';
export * from './kinds.js';
export { copyLineTable, lineOf } from './lines.js';
export * from './names.js';
export { normalizeResource } from './normalize.js';
export { childPath, parentPath } from './paths.js';
export * from './resource.js';
export { resourceRef } from './validate/collector.js';
export { validateResource } from './validate/index.js';
