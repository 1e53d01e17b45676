/** Wire shapes of incremental xDS (envoy.service.discovery.v3.Delta*), as the gRPC stream carries them. */
import type { XdsNode } from '@sluice/xds';

export interface DeltaDiscoveryRequest {
  node?: XdsNode | null;
  type_url: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  /** Resources the client already holds (first request of a stream only): name → version. */
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string } | null;
}

export interface DeltaResource {
  name: string;
  version: string;
  resource?: { type_url: string; value: Buffer | Uint8Array };
}

export interface DeltaDiscoveryResponse {
  system_version_info: string;
  resources: DeltaResource[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
}
