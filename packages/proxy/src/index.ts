export type { CompiledChain, Destination, EgressDecision, EgressReason, EgressVerdict } from './decision/decision.js';
export { BLACK_HOLE_CLUSTER, PASSTHROUGH_CLUSTER } from './decision/decision.js';
export type { DecisionTable } from './decision/table.js';
export { compileDecisionTable, decideEgress, decideInbound, needsTlsInspection } from './decision/table.js';
export type {
  ClientHelloResult,
  ClusterView,
  Endpoint,
  HttpHandoff,
  OriginalDestination,
  ReadClientHello,
  ServeHttpConnection,
  SourceWorkload,
} from './handoff.js';
export type { ProxyLogger } from './logger.js';
export { NativeAddonMissingError, originalDst, originalDstOfFd } from './native/original-dst.js';
export type { AccessLogEntry, AccessLogFormat, ResponseFlag } from './observability/access-log.js';
export { AccessLog, formatText } from './observability/access-log.js';
export type { HttpMetricLabels, TcpMetricLabels } from './observability/metrics.js';
export { ProxyMetrics } from './observability/metrics.js';
export type { ApplyResult, ProxyOptions, SnapshotInput } from './proxy.js';
export { Proxy, ProxyOptionsError, TestRoutes } from './proxy.js';
export { SnapshotFileError } from './snapshot/snapshot-file.js';
export * from './xds/resources.js';
