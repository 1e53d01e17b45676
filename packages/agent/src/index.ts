export { Agent, type AgentOptions } from './agent.js';
export { freeAdHocIp } from './free-ip.js';
export { ImageTableError, loadImageTable, repoRoot, tsxLoader } from './images.js';
export { IpPool } from './ip-pool.js';
export {
  type ApiCredentials,
  ApiError,
  KubeClient,
  loadKubeconfig,
  parseKubeconfig,
  resourcePath,
} from './kube-client.js';
export { type NodeOptions, SIDECAR_MAIN, SluiceNode } from './node.js';
export {
  type NodeInfo,
  NodeInfoError,
  nodeInfoPath,
  readNodeInfo,
  removeNodeInfo,
  writeNodeInfo,
} from './node-info.js';
export { type HostHandle, httpProbe, PodRunner, type PodRuntimeStatus } from './pod-runner.js';
export * from './pod-spec.js';
export {
  type PortForward,
  PortForwardError,
  type PortForwardOptions,
  podIsReady,
  portForward,
} from './port-forward.js';
export { RunOnceError, type RunOnceOptions, type RunOnceResult, runOnce } from './run-once.js';
