/**
 * The Envoy type URLs the proxy names, from `@sluice/xds/types`: that module holds only constants,
 * so a proxy without an xDS address never loads gRPC or protobuf (the package index loads both).
 */
export { TypeUrl } from '@sluice/xds/types';
