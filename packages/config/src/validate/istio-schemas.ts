/**
 * Structural schemas of the Istio networking kinds (the fields of istio/api networking v1alpha3,
 * identical in v1beta1 and v1) and of Sluice's MeshConfig.
 */
import {
  any,
  arr,
  bool,
  duration,
  int,
  type ObjectSchema,
  obj,
  oneOf,
  range,
  type Schema,
  str,
  stringMap,
  strings,
} from './schema.js';

const selector = obj({ labels: stringMap });

export const servicePort = obj({ number: int, name: str, protocol: str, targetPort: int }, { required: ['number'] });

export const workloadEntrySpec = obj({
  address: str,
  ports: { type: 'map', values: int },
  labels: stringMap,
  network: str,
  locality: str,
  weight: range(0),
  serviceAccount: str,
});

export const serviceEntrySpec = obj(
  {
    hosts: strings,
    addresses: strings,
    ports: arr(servicePort),
    location: oneOf(['MESH_EXTERNAL', 'MESH_INTERNAL']),
    resolution: oneOf(['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN']),
    endpoints: arr(workloadEntrySpec),
    workloadSelector: selector,
    exportTo: strings,
    subjectAltNames: strings,
  },
  { required: ['hosts'] },
);

const destination = obj({ host: str, subset: str, port: obj({ number: int }) }, { required: ['host'] });
const routeDestination = obj({ destination, weight: int }, { required: ['destination'] });
const stringMatch = obj({ exact: str, prefix: str, regex: str });
const stringMatchMap: Schema = { type: 'map', values: stringMatch };
const headerOps = obj({ set: stringMap, add: stringMap, remove: strings });
const headers = obj({ request: headerOps, response: headerOps });
const percentage = obj({ value: { type: 'number' } });

const httpMatch = obj({
  name: str,
  uri: stringMatch,
  scheme: stringMatch,
  method: stringMatch,
  authority: stringMatch,
  headers: stringMatchMap,
  queryParams: stringMatchMap,
  port: int,
  sourceLabels: stringMap,
  sourceNamespace: str,
  gateways: strings,
  ignoreUriCase: bool,
  withoutHeaders: stringMatchMap,
});

const httpRoute = obj(
  {
    name: str,
    match: arr(httpMatch),
    route: arr(obj({ destination, weight: int, headers }, { required: ['destination'] })),
    redirect: obj({ uri: str, authority: str, redirectCode: int }, { unsupported: ['port', 'derivePort', 'scheme'] }),
    rewrite: obj({ uri: str, authority: str }, { unsupported: ['uriRegexRewrite'] }),
    timeout: duration,
    retries: obj(
      { attempts: range(0), perTryTimeout: duration, retryOn: str },
      { unsupported: ['retryRemoteLocalities'] },
    ),
    fault: obj({
      delay: obj({ fixedDelay: duration, percentage, percent: int }, { unsupported: ['exponentialDelay'] }),
      abort: obj({ httpStatus: int, percentage }, { unsupported: ['grpcStatus', 'http2Error'] }),
    }),
    mirror: destination,
    headers,
  },
  { unsupported: ['corsPolicy', 'delegate', 'directResponse', 'mirrorPercentage', 'mirrorPercent', 'mirrors'] },
);

const l4Match = {
  destinationSubnets: strings,
  port: int,
  sourceLabels: stringMap,
  sourceNamespace: str,
  gateways: strings,
};

export const virtualServiceSpec = obj({
  hosts: strings,
  gateways: strings,
  http: arr(httpRoute),
  tcp: arr(obj({ match: arr(obj(l4Match)), route: arr(routeDestination) })),
  tls: arr(obj({ match: arr(obj({ ...l4Match, sniHosts: strings })), route: arr(routeDestination) })),
  exportTo: strings,
});

const trafficPolicyFields = {
  loadBalancer: obj(
    { simple: oneOf(['UNSPECIFIED', 'ROUND_ROBIN', 'LEAST_REQUEST', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH']) },
    { unsupported: ['consistentHash', 'localityLbSetting', 'warmupDurationSecs', 'warmup'] },
  ),
  connectionPool: obj({
    tcp: obj({
      maxConnections: range(0),
      connectTimeout: duration,
      tcpKeepalive: obj({ probes: range(0), time: duration, interval: duration }),
      maxConnectionDuration: duration,
      idleTimeout: duration,
    }),
    http: obj(
      {
        http1MaxPendingRequests: range(0),
        http2MaxRequests: range(0),
        maxRequestsPerConnection: range(0),
        maxRetries: range(0),
        idleTimeout: duration,
      },
      { unsupported: ['h2UpgradePolicy', 'useClientProtocol', 'maxConcurrentStreams'] },
    ),
  }),
  outlierDetection: obj(
    {
      consecutive5xxErrors: range(0),
      consecutiveGatewayErrors: range(0),
      interval: duration,
      baseEjectionTime: duration,
      maxEjectionPercent: range(0, 100),
    },
    {
      unsupported: [
        'consecutiveErrors',
        'minHealthPercent',
        'splitExternalLocalOriginErrors',
        'consecutiveLocalOriginFailures',
      ],
    },
  ),
  tls: obj(
    { mode: oneOf(['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL']) },
    {
      unsupported: [
        'clientCertificate',
        'privateKey',
        'caCertificates',
        'credentialName',
        'subjectAltNames',
        'sni',
        'insecureSkipVerify',
      ],
    },
  ),
};

const portTrafficPolicy = obj(
  { ...trafficPolicyFields, port: obj({ number: int }, { required: ['number'] }) },
  { required: ['port'] },
);
const trafficPolicy = obj(
  { ...trafficPolicyFields, portLevelSettings: arr(portTrafficPolicy) },
  { unsupported: ['tunnel', 'proxyProtocol'] },
);

export const destinationRuleSpec = obj(
  {
    host: str,
    trafficPolicy,
    subsets: arr(obj({ name: str, labels: stringMap, trafficPolicy }, { required: ['name'] })),
    exportTo: strings,
    workloadSelector: selector,
  },
  { required: ['host'] },
);

const sidecarPort = obj({ number: int, name: str, protocol: str, targetPort: int }, { required: ['number'] });
const outboundMode = oneOf(['ALLOW_ANY', 'REGISTRY_ONLY']);

export const sidecarSpec = obj({
  workloadSelector: selector,
  ingress: arr(
    obj(
      { port: sidecarPort, bind: str, defaultEndpoint: str },
      { required: ['port'], unsupported: ['captureMode', 'tls', 'connectionPool'] },
    ),
  ),
  egress: arr(obj({ port: sidecarPort, bind: str, hosts: strings }, { unsupported: ['captureMode'] })),
  outboundTrafficPolicy: obj({ mode: outboundMode, egressProxy: destination }),
});

export const meshConfigSpec = obj({
  outboundTrafficPolicy: obj({ mode: outboundMode }),
  egressMode: oneOf(['enforce', 'audit']),
  rootNamespace: str,
});

/** `status` is written by the control plane; input may carry anything there. */
export const statusSchema: Schema = any;

export const ISTIO_SPECS: Record<string, ObjectSchema> = {
  ServiceEntry: serviceEntrySpec,
  VirtualService: virtualServiceSpec,
  DestinationRule: destinationRuleSpec,
  Sidecar: sidecarSpec,
  WorkloadEntry: workloadEntrySpec,
};
