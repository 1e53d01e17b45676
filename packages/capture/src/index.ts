export { DnsAnswerer, type DnsAnswererOptions, type DnsAnswererStats } from './dns/answerer.js';
export type { DnsScope, NameInfo, NameTable } from './dns/name-table.js';
export type { UpstreamResolver } from './dns/upstream.js';
export {
  CaptureOptionsError,
  CommandFailedError,
  ExternalMysqlError,
  HostSetupError,
  NameTableError,
  VipRangeExhaustedError,
} from './errors.js';
export { type CleanupOptions, type CleanupReport, cleanup } from './hosts/cleanup.js';
export type { ExecOptions } from './hosts/exec-in-netns.js';
export {
  createMeshNetwork,
  DefaultPrefixes,
  describeMeshNetwork,
  destroyMeshNetwork,
  type MeshNetwork,
  type MeshNetworkOptions,
} from './hosts/mesh-network.js';
export { createTestHost, type TestHost, type TestHostOptions } from './hosts/test-host.js';
export {
  createWorkloadHost,
  IstioCaptureDefaults,
  type NetnsHost,
  SINK_INTERFACE,
  type WorkloadHost,
  type WorkloadHostOptions,
} from './hosts/workload-host.js';
export { type ExternalMysql, type ExternalMysqlOptions, startExternalMysql } from './mysql/external-mysql.js';
export { startTcpForwarder, type TcpForwarder, type TcpForwarderOptions } from './relay/tcp-forwarder.js';
export { CaptureChain, type CaptureOptions, type CaptureRuleText, captureRules } from './rules/capture-rules.js';
export { allocateVip, SERVICE_ENTRY_VIP_RANGE, vipInRange } from './vip/allocate-vip.js';
