export { canonicalize, decodeResource, encodeResource, XdsCodecError } from './codec.js';
export { durationToString } from './json-wrappers.js';
export { adsClientConstructor, adsService, includeDirs, protoFiles, protoRoot } from './protos.js';
export type { AnyMessage, DiscoveryRequest, DiscoveryResponse, ResourceTypeUrl, XdsNode } from './types.js';
export { resourceTypes, shortTypeName, TypeUrl } from './types.js';
