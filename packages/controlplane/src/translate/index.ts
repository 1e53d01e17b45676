export { type CidrRange, parseCidr } from './address.js';
export { BLACK_HOLE_CLUSTER, inboundClusterName, outboundClusterName, PASSTHROUGH_CLUSTER } from './clusters.js';
export { InvalidDurationError } from './duration.js';
export { generateProxyResources, proxyShapeKey } from './generate.js';
export { INBOUND_CAPTURE_PORT, OUTBOUND_CAPTURE_PORT, SLUICE_METADATA } from './listeners.js';
export { InvalidNodeError, plainFromStruct, proxyInfoFromNode } from './proxy-info.js';
export type * from './types.js';
export {
  AUTO_VIP_BASE,
  allocateVips,
  existingVips,
  needsVip,
  type VipAssignment,
  VipRangeExhaustedError,
} from './vip.js';
