/**
 * The catalogue of every finding code Sluice emits, with its severity and a one-line summary.
 * Codes are stable: tests, docs and users' scripts key on them. Istio's analyzer codes (IST…)
 * keep Istio's meaning; YAML… codes are about reading input; SLC… codes are Sluice's own rules.
 */
import type { Severity } from './resource.js';

export interface RuleInfo {
  code: string;
  severity: Severity;
  summary: string;
}

function rule(code: string, severity: Severity, summary: string): RuleInfo {
  return { code, severity, summary };
}

export const RULES = {
  // Reading input
  yamlSyntax: rule('YAML0001', 'error', 'The text is not valid YAML or JSON.'),
  notAnObject: rule('YAML0002', 'error', 'A document is not a mapping (object).'),
  noObjects: rule('YAML0003', 'error', 'The input holds no objects.'),
  binaryInput: rule('YAML0004', 'error', 'The input is binary data, not UTF-8 text.'),
  inputTooLarge: rule('YAML0005', 'error', 'The input is larger than the limit.'),
  yamlWarning: rule('YAML0006', 'warning', 'The YAML parser warns about a construct.'),
  readFailed: rule('YAML0007', 'error', 'A file or directory could not be read.'),

  // Envelope and schema
  missingTypeMeta: rule('SLC0001', 'error', 'apiVersion or kind is missing.'),
  unknownKind: rule('SLC0002', 'error', 'The kind is not one Sluice knows.'),
  wrongApiVersion: rule('SLC0003', 'error', 'The apiVersion does not serve this kind.'),
  wrongType: rule('SLC0004', 'error', 'A field has the wrong type.'),
  unknownField: rule('SLC0005', 'warning', 'A field is not part of the schema; it is ignored.'),
  unsupportedField: rule('SLC0006', 'warning', 'A real field outside the subset Sluice supports; it is ignored.'),
  requiredField: rule('SLC0007', 'error', 'A required field is missing.'),
  invalidEnum: rule('SLC0008', 'error', 'A field holds a value outside its allowed set.'),
  outOfRange: rule('SLC0009', 'error', 'A number is outside its allowed range.'),
  invalidDuration: rule('SLC0010', 'error', 'A duration is malformed or below 1ms.'),

  // Metadata
  invalidName: rule('SLC0101', 'error', 'metadata.name is missing or not a valid Kubernetes name.'),
  invalidNamespace: rule('SLC0102', 'error', 'metadata.namespace is not a valid DNS-1123 label.'),
  namespaceOnClusterScoped: rule('SLC0103', 'warning', 'A cluster-scoped kind carries a namespace; it is ignored.'),
  invalidLabel: rule('SLC0104', 'error', 'A label key or value is not valid.'),
  invalidAnnotation: rule('SLC0105', 'error', 'An annotation key is not valid.'),
  meshConfigName: rule('SLC0106', 'error', 'The MeshConfig object must be named "mesh".'),
  invalidTimestamp: rule('SLC0107', 'error', 'creationTimestamp is not an RFC 3339 time.'),

  // ServiceEntry
  seNoHosts: rule('SLC0201', 'error', 'A ServiceEntry needs at least one host.'),
  seHostStar: rule('SLC0202', 'error', 'A ServiceEntry host may not be "*".'),
  partialWildcard: rule('SLC0203', 'warning', 'A wildcard that is not a whole first label ("*foo.com").'),
  invalidHost: rule('SLC0204', 'error', 'A host is not a valid (wildcard) DNS name.'),
  invalidAddress: rule('SLC0205', 'error', 'An address is neither an IP nor a CIDR.'),
  cidrNeedsNoneOrStatic: rule('SLC0206', 'error', 'CIDR addresses need resolution NONE or STATIC.'),
  duplicatePortNumber: rule('SLC0207', 'error', 'Two ports share a number.'),
  duplicatePortName: rule('SLC0208', 'error', 'Two ports share a name.'),
  invalidPortName: rule('SLC0209', 'error', 'A port name is missing or not a DNS-1123 label.'),
  portOutOfRange: rule('SLC0210', 'error', 'A port number is outside 1–65535.'),
  unknownProtocol: rule('SLC0211', 'error', 'A port protocol is not one Istio knows.'),
  endpointsWithNone: rule('SLC0212', 'error', 'Resolution NONE takes no endpoints.'),
  selectorWithNone: rule('SLC0213', 'warning', 'workloadSelector has no effect with resolution NONE.'),
  staticEndpointNotIp: rule('SLC0214', 'error', 'A STATIC endpoint address is not an IP.'),
  endpointPortUndefined: rule('SLC0215', 'error', 'An endpoint names a port the entry does not define.'),
  dnsHostNotFqdn: rule('SLC0216', 'error', 'DNS resolution without endpoints needs FQDN hosts.'),
  dnsRoundRobinEndpoints: rule('SLC0217', 'error', 'DNS_ROUND_ROBIN takes at most one endpoint.'),
  multipleHostsTcp: rule('SLC0218', 'error', 'Several hosts with a non-HTTP/TLS port need resolution NONE.'),
  selectorAndEndpoints: rule('SLC0219', 'error', 'Only one of workloadSelector and endpoints may be set.'),
  udpCarriesNothing: rule('SLC0220', 'info', 'UDP ports are accepted but Sluice carries no UDP traffic.'),
  addressesRequired: rule(
    'IST0134',
    'warning',
    'A TCP (or unset) port with no addresses claims every IP on that port.',
  ),

  // WorkloadEntry (and ServiceEntry endpoints)
  workloadAddress: rule('SLC0601', 'error', 'A workload address is missing or not an IP, hostname or unix socket.'),

  // VirtualService
  vsNoHosts: rule('SLC0301', 'error', 'A VirtualService needs at least one host.'),
  vsInvalidHost: rule('SLC0302', 'error', 'A VirtualService host is not valid.'),
  vsNoRoutes: rule('SLC0303', 'error', 'A VirtualService needs http, tcp or tls routes.'),
  routeMissing: rule('SLC0304', 'error', 'A rule has no route (or redirect).'),
  destinationHost: rule('SLC0305', 'error', 'A destination host is missing or invalid.'),
  invalidSubsetName: rule('SLC0306', 'error', 'A subset name is missing or not a DNS-1123 label.'),
  negativeWeight: rule('SLC0307', 'error', 'A route weight is negative.'),
  zeroTotalWeight: rule('SLC0308', 'error', 'Several routes whose weights sum to 0.'),
  tlsMatchRequired: rule('SLC0309', 'error', 'A tls rule needs at least one match.'),
  sniHostsRequired: rule('SLC0310', 'error', 'A tls match needs sniHosts.'),
  sniNotInHosts: rule('SLC0311', 'error', 'An SNI host is not covered by the VirtualService hosts.'),
  invalidStringMatch: rule(
    'SLC0313',
    'error',
    'A string match sets more than one of exact/prefix/regex, or a bad regex.',
  ),
  routeAndRedirect: rule('SLC0314', 'error', 'An http rule sets both route and redirect.'),
  invalidPercentage: rule('SLC0315', 'error', 'A percentage is outside 0–100.'),
  invalidHttpStatus: rule('SLC0316', 'error', 'An HTTP status is outside 200–599.'),
  invalidSubnet: rule('SLC0317', 'error', 'A destinationSubnets entry is not an IP or CIDR.'),
  faultIncomplete: rule('SLC0318', 'error', 'A fault delay or abort lacks its value.'),

  // DestinationRule
  drHost: rule('SLC0401', 'error', 'A DestinationRule host is missing or invalid.'),
  duplicateSubset: rule('SLC0403', 'error', 'Two subsets share a name.'),
  duplicatePortLevel: rule('SLC0404', 'error', 'Two portLevelSettings name the same port.'),

  // Sidecar
  egressNoHosts: rule('SLC0501', 'error', 'A Sidecar egress listener needs hosts.'),
  egressHostFormat: rule('SLC0502', 'error', 'A Sidecar egress host is not namespace/dnsName.'),
  egressProxyMode: rule('SLC0503', 'error', 'egressProxy is only allowed with mode ALLOW_ANY.'),
  catchAllNotLast: rule('SLC0504', 'error', 'Only the last egress listener may omit its port.'),
  duplicateEgressPort: rule('SLC0505', 'error', 'Two egress listeners share a port.'),

  // Kubernetes workload kinds
  servicePortName: rule('SLC0801', 'error', 'Service ports need unique names when there are several.'),
  selectorMismatch: rule('SLC0802', 'error', "A Deployment's selector does not match its template labels."),
  containerName: rule('SLC0803', 'error', 'Container names must be unique DNS-1123 labels.'),
  secretNotBase64: rule('SLC0804', 'error', 'A Secret data value is not base64.'),

  // Analysis
  referencedNotFound: rule('IST0101', 'error', 'A referenced host, or host+subset, does not exist.'),
  conflictingVsHosts: rule('IST0109', 'error', 'Several VirtualServices define the same host.'),
  conflictingSidecarSelectors: rule('IST0110', 'error', 'Several Sidecars select the same workload.'),
  multipleSidecarsNoSelector: rule('IST0111', 'error', 'Several selector-less Sidecars in one namespace.'),
  destinationPortRequired: rule('IST0112', 'error', 'A destination to a multi-port service names no port.'),
  unreachableRule: rule('IST0130', 'warning', 'A VirtualService rule can never match.'),
  ineffectiveMatch: rule('IST0131', 'warning', 'A match repeats an earlier one and never applies.'),
  subsetSelectsNothing: rule('IST0173', 'warning', 'A DestinationRule subset selects no workload.'),
  drHostNotFound: rule('IST0174', 'warning', 'A DestinationRule host matches no service.'),
  tcpPortConflict: rule('SLC0901', 'error', 'Two address-less TCP ServiceEntries claim one port; one is dropped.'),
} as const satisfies Record<string, RuleInfo>;

export type RuleName = keyof typeof RULES;
