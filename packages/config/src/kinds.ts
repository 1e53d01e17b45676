/**
 * Spec types of the Istio networking kinds Sluice implements (networking.istio.io v1alpha3,
 * v1beta1 and v1 share one schema), Sluice's MeshConfig, and the subset of the Kubernetes
 * workload kinds (Service, Deployment, ServiceAccount, Secret, Pod) that Sluice runs.
 * Field names are Istio's/Kubernetes' own (camelCase), as they appear in YAML.
 */

export const ISTIO_GROUP = 'networking.istio.io';
export const ISTIO_VERSIONS = ['v1alpha3', 'v1beta1', 'v1'] as const;
export const SLUICE_GROUP = 'sluice.dev';

export type PortProtocol = string; // TCP, UDP, GRPC, GRPC-Web, HTTP, HTTP_PROXY, HTTP2, HTTPS, TLS, Mongo, Redis, MySQL (case-insensitive)

export interface ServicePort {
  number: number;
  name: string;
  protocol?: PortProtocol;
  targetPort?: number;
}

export interface WorkloadEntrySpec {
  address?: string;
  ports?: Record<string, number>;
  labels?: Record<string, string>;
  network?: string;
  locality?: string;
  weight?: number;
  serviceAccount?: string;
}

export interface ServiceEntrySpec {
  hosts: string[];
  addresses?: string[];
  ports?: ServicePort[];
  location?: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  resolution?: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';
  endpoints?: WorkloadEntrySpec[];
  workloadSelector?: { labels?: Record<string, string> };
  exportTo?: string[];
  subjectAltNames?: string[];
}

export interface Destination {
  host: string;
  subset?: string;
  port?: { number?: number };
}

export interface RouteDestination {
  destination: Destination;
  weight?: number;
}

export interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

export interface HTTPMatchRequest {
  name?: string;
  uri?: StringMatch;
  scheme?: StringMatch;
  method?: StringMatch;
  authority?: StringMatch;
  headers?: Record<string, StringMatch>;
  queryParams?: Record<string, StringMatch>;
  port?: number;
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
  gateways?: string[];
  ignoreUriCase?: boolean;
  withoutHeaders?: Record<string, StringMatch>;
}

export interface HeaderOperations {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

export interface HTTPRoute {
  name?: string;
  match?: HTTPMatchRequest[];
  route?: (RouteDestination & { headers?: { request?: HeaderOperations; response?: HeaderOperations } })[];
  redirect?: { uri?: string; authority?: string; redirectCode?: number };
  rewrite?: { uri?: string; authority?: string };
  timeout?: string;
  retries?: { attempts?: number; perTryTimeout?: string; retryOn?: string };
  fault?: {
    delay?: { fixedDelay?: string; percentage?: { value?: number }; percent?: number };
    abort?: { httpStatus?: number; percentage?: { value?: number } };
  };
  mirror?: Destination;
  headers?: { request?: HeaderOperations; response?: HeaderOperations };
}

export interface L4MatchAttributes {
  destinationSubnets?: string[];
  port?: number;
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
  gateways?: string[];
}

export interface TCPRoute {
  match?: L4MatchAttributes[];
  route?: RouteDestination[];
}

export interface TLSRoute {
  match: (L4MatchAttributes & { sniHosts: string[] })[];
  route?: RouteDestination[];
}

export interface VirtualServiceSpec {
  hosts?: string[];
  gateways?: string[];
  http?: HTTPRoute[];
  tcp?: TCPRoute[];
  tls?: TLSRoute[];
  exportTo?: string[];
}

export interface ConnectionPoolSettings {
  tcp?: {
    maxConnections?: number;
    connectTimeout?: string;
    tcpKeepalive?: { probes?: number; time?: string; interval?: string };
    maxConnectionDuration?: string;
    idleTimeout?: string;
  };
  http?: {
    http1MaxPendingRequests?: number;
    http2MaxRequests?: number;
    maxRequestsPerConnection?: number;
    maxRetries?: number;
    idleTimeout?: string;
  };
}

export interface TrafficPolicy {
  loadBalancer?: { simple?: 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'PASSTHROUGH' | 'UNSPECIFIED' | 'LEAST_CONN' };
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: {
    consecutive5xxErrors?: number;
    consecutiveGatewayErrors?: number;
    interval?: string;
    baseEjectionTime?: string;
    maxEjectionPercent?: number;
  };
  tls?: { mode?: string };
  portLevelSettings?: (Omit<TrafficPolicy, 'portLevelSettings'> & { port?: { number?: number } })[];
}

export interface Subset {
  name: string;
  labels?: Record<string, string>;
  trafficPolicy?: TrafficPolicy;
}

export interface DestinationRuleSpec {
  host: string;
  trafficPolicy?: TrafficPolicy;
  subsets?: Subset[];
  exportTo?: string[];
  workloadSelector?: { labels?: Record<string, string> };
}

export type OutboundMode = 'ALLOW_ANY' | 'REGISTRY_ONLY';

export interface SidecarSpec {
  workloadSelector?: { labels?: Record<string, string> };
  ingress?: { port: ServicePort; bind?: string; defaultEndpoint?: string }[];
  egress?: { port?: ServicePort; bind?: string; hosts: string[] }[];
  outboundTrafficPolicy?: { mode?: OutboundMode; egressProxy?: Destination };
}

/**
 * Sluice's mesh-wide settings (Istio keeps these in the `istio` ConfigMap's MeshConfig).
 * apiVersion `sluice.dev/v1alpha1`, kind `MeshConfig`, cluster-scoped, one object named `mesh`.
 */
export interface MeshConfigSpec {
  outboundTrafficPolicy?: { mode?: OutboundMode };
  /** Sluice only: `audit` lets traffic through but logs/counts what REGISTRY_ONLY would block. */
  egressMode?: 'enforce' | 'audit';
  rootNamespace?: string;
}

/** Annotation on a Sidecar (or the MeshConfig) that switches egress to audit mode. */
export const EGRESS_MODE_ANNOTATION = 'sluice.dev/egress-mode';

/** The kinds Sluice knows, with their REST names (as Istio's CRDs and Kubernetes define them). */
export interface KindInfo {
  kind: string;
  group: string; // '' for core
  versions: readonly string[];
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  categories: string[];
}

export const KINDS: readonly KindInfo[] = [
  {
    kind: 'ServiceEntry',
    group: ISTIO_GROUP,
    versions: ISTIO_VERSIONS,
    plural: 'serviceentries',
    singular: 'serviceentry',
    shortNames: ['se'],
    namespaced: true,
    categories: ['istio-io', 'networking-istio-io'],
  },
  {
    kind: 'VirtualService',
    group: ISTIO_GROUP,
    versions: ISTIO_VERSIONS,
    plural: 'virtualservices',
    singular: 'virtualservice',
    shortNames: ['vs'],
    namespaced: true,
    categories: ['istio-io', 'networking-istio-io'],
  },
  {
    kind: 'DestinationRule',
    group: ISTIO_GROUP,
    versions: ISTIO_VERSIONS,
    plural: 'destinationrules',
    singular: 'destinationrule',
    shortNames: ['dr'],
    namespaced: true,
    categories: ['istio-io', 'networking-istio-io'],
  },
  {
    kind: 'Sidecar',
    group: ISTIO_GROUP,
    versions: ISTIO_VERSIONS,
    plural: 'sidecars',
    singular: 'sidecar',
    shortNames: [],
    namespaced: true,
    categories: ['istio-io', 'networking-istio-io'],
  },
  {
    kind: 'WorkloadEntry',
    group: ISTIO_GROUP,
    versions: ISTIO_VERSIONS,
    plural: 'workloadentries',
    singular: 'workloadentry',
    shortNames: ['we'],
    namespaced: true,
    categories: ['istio-io', 'networking-istio-io'],
  },
  {
    kind: 'MeshConfig',
    group: SLUICE_GROUP,
    versions: ['v1alpha1'],
    plural: 'meshconfigs',
    singular: 'meshconfig',
    shortNames: ['mesh'],
    namespaced: false,
    categories: ['sluice'],
  },
  {
    kind: 'Service',
    group: '',
    versions: ['v1'],
    plural: 'services',
    singular: 'service',
    shortNames: ['svc'],
    namespaced: true,
    categories: ['all'],
  },
  {
    kind: 'ServiceAccount',
    group: '',
    versions: ['v1'],
    plural: 'serviceaccounts',
    singular: 'serviceaccount',
    shortNames: ['sa'],
    namespaced: true,
    categories: [],
  },
  {
    kind: 'Secret',
    group: '',
    versions: ['v1'],
    plural: 'secrets',
    singular: 'secret',
    shortNames: [],
    namespaced: true,
    categories: [],
  },
  {
    kind: 'Pod',
    group: '',
    versions: ['v1'],
    plural: 'pods',
    singular: 'pod',
    shortNames: ['po'],
    namespaced: true,
    categories: ['all'],
  },
  {
    kind: 'Namespace',
    group: '',
    versions: ['v1'],
    plural: 'namespaces',
    singular: 'namespace',
    shortNames: ['ns'],
    namespaced: false,
    categories: [],
  },
  {
    kind: 'Deployment',
    group: 'apps',
    versions: ['v1'],
    plural: 'deployments',
    singular: 'deployment',
    shortNames: ['deploy'],
    namespaced: true,
    categories: ['all'],
  },
];

const KIND_BY_NAME = new Map<string, KindInfo>(KINDS.map((k) => [k.kind, k]));

export function kindInfo(kind: string): KindInfo | undefined {
  return KIND_BY_NAME.get(kind);
}

/** Finds a kind by any name kubectl accepts: Kind, plural, singular or short name (case-insensitive). */
export function kindByName(name: string): KindInfo | undefined {
  const n = name.toLowerCase();
  return KINDS.find(
    (k) => k.kind.toLowerCase() === n || k.plural === n || k.singular === n || k.shortNames.includes(n),
  );
}

// ---- Kubernetes workload kinds (documented subset) ----

export interface K8sServiceSpec {
  selector?: Record<string, string>;
  ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string; appProtocol?: string }[];
  clusterIP?: string;
  type?: string;
}

export interface ContainerSpec {
  name: string;
  image: string;
  imagePullPolicy?: string;
  command?: string[];
  args?: string[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
  }[];
  ports?: { containerPort: number; name?: string; protocol?: string }[];
  readinessProbe?: {
    httpGet?: { path?: string; port: number | string };
    initialDelaySeconds?: number;
    periodSeconds?: number;
  };
  securityContext?: { runAsUser?: number };
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface DeploymentSpec {
  replicas?: number;
  selector?: { matchLabels?: Record<string, string> };
  template: {
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    spec: {
      serviceAccountName?: string;
      containers: ContainerSpec[];
      volumes?: { name: string; emptyDir?: Record<string, unknown> }[];
    };
  };
}

/** A running workload replica, as the agent registers it. */
export interface PodSpec {
  nodeName?: string;
  serviceAccountName?: string;
  containers?: ContainerSpec[];
}
export interface PodStatus {
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  podIP?: string;
  startTime?: string;
  containerStatuses?: { name: string; ready: boolean; restartCount: number; state?: Record<string, unknown> }[];
}
