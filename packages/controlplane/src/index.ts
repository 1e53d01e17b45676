export { SERVICE_VIP_CIDR } from './api/cluster-ip.js';
export {
  CredentialsError,
  ensureCredentials,
  FILES as DATA_DIR_FILES,
  serverUrl,
  writeKubeconfig,
} from './api/credentials.js';
export { PREFERRED_VERSIONS } from './api/discovery.js';
export { ApiServer, ApiServerError, type ApiServerOptions, type DebugSource } from './api/server.js';
export { ApiError, type Status, type StatusCause } from './api/status.js';
export { ControlPlane, ControlPlaneError, type ControlPlaneOptions, startControlPlane } from './controlplane.js';
export * from './status/index.js';
export * from './xds/index.js';
