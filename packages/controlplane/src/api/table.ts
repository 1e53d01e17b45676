/**
 * Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`): the columns
 * `kubectl get` shows for each kind, with cells computed here (age text, JSONPath-style lists).
 * Istio kinds use the printer columns of Istio's CRDs; core kinds those of the Kubernetes API server.
 */
import type { KindInfo } from '@sluice/config';
import { ageOf } from './age.js';

type Obj = Record<string, unknown> & { metadata?: Record<string, unknown> };
type Cell = string | number | null;

export interface Column {
  name: string;
  type: 'string' | 'integer' | 'date' | 'number';
  format?: string;
  description: string;
  priority: number;
  cell: (o: Obj, now: number) => Cell;
}

export type IncludeObject = 'None' | 'Object' | 'Metadata';

function at(o: unknown, path: string): unknown {
  let cur: unknown = o;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** A CRD printer column cell: the value at a JSONPath, lists and maps as JSON, absent as null. */
function jsonPathCell(path: string): (o: Obj) => Cell {
  return (o) => {
    const v = at(o, path);
    if (v === undefined || v === null) return null;
    if (typeof v === 'string' || typeof v === 'number') return v;
    return JSON.stringify(v);
  };
}

const nameColumn: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
  cell: (o) => String(o.metadata?.['name'] ?? ''),
};

const ageColumn: Column = {
  name: 'Age',
  type: 'date',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
  cell: (o, now) => ageOf(o.metadata?.['creationTimestamp'] as string | undefined, now),
};

function col(name: string, path: string, description: string, priority = 0): Column {
  return { name, type: 'string', description, priority, cell: jsonPathCell(path) };
}

function computed(name: string, description: string, cell: (o: Obj) => Cell, priority = 0): Column {
  return { name, type: 'string', description, priority, cell };
}

const orNone = (s: string) => (s === '' ? '<none>' : s);
const labelsText = (m: unknown) =>
  orNone(
    Object.entries((m as Record<string, string> | undefined) ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  );

interface ContainerStatus {
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string }; terminated?: { reason?: string } };
}

const podColumns: Column[] = [
  nameColumn,
  computed('Ready', 'The aggregate readiness state of this pod for accepting traffic.', (o) => {
    const statuses = (at(o, 'status.containerStatuses') as ContainerStatus[] | undefined) ?? [];
    const total = Math.max(statuses.length, ((at(o, 'spec.containers') as unknown[] | undefined) ?? []).length);
    return `${statuses.filter((s) => s.ready).length}/${total}`;
  }),
  computed('Status', 'The aggregate status of the containers in this pod.', (o) => {
    const statuses = (at(o, 'status.containerStatuses') as ContainerStatus[] | undefined) ?? [];
    for (const s of statuses) {
      const reason = s.state?.waiting?.reason ?? s.state?.terminated?.reason;
      if (reason) return reason;
    }
    return String(at(o, 'status.phase') ?? 'Pending');
  }),
  {
    name: 'Restarts',
    type: 'integer',
    description: 'The number of times the containers in this pod have been restarted.',
    priority: 0,
    cell: (o) =>
      ((at(o, 'status.containerStatuses') as ContainerStatus[] | undefined) ?? []).reduce(
        (n, s) => n + (s.restartCount ?? 0),
        0,
      ),
  },
  ageColumn,
  computed('IP', 'IP address allocated to the pod.', (o) => String(at(o, 'status.podIP') ?? '<none>'), 1),
  computed('Node', 'Name of the Node this pod runs on.', (o) => String(at(o, 'spec.nodeName') ?? '<none>'), 1),
  computed('Nominated Node', 'Name of the node where the pod may be scheduled.', () => '<none>', 1),
  computed('Readiness Gates', 'Pod readiness gates.', () => '<none>', 1),
];

interface K8sPort {
  port?: number;
  protocol?: string;
}

const serviceColumns: Column[] = [
  nameColumn,
  computed('Type', 'How the service is exposed.', (o) => String(at(o, 'spec.type') ?? 'ClusterIP')),
  computed('Cluster-IP', 'The virtual IP Sluice allocated to the service.', (o) =>
    String(at(o, 'spec.clusterIP') ?? '<none>'),
  ),
  computed('External-IP', 'External IPs (none in Sluice).', () => '<none>'),
  computed('Port(s)', 'The ports the service exposes.', (o) =>
    orNone(
      ((at(o, 'spec.ports') as K8sPort[] | undefined) ?? []).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).join(','),
    ),
  ),
  ageColumn,
  computed(
    'Selector',
    'Route service traffic to pods with label keys and values matching this selector.',
    (o) => labelsText(at(o, 'spec.selector')),
    1,
  ),
];

interface Container {
  name?: string;
  image?: string;
}
const templateContainers = (o: Obj) => (at(o, 'spec.template.spec.containers') as Container[] | undefined) ?? [];
const count = (path: string) => (o: Obj) => Number(at(o, path) ?? 0);

const deploymentColumns: Column[] = [
  nameColumn,
  computed(
    'Ready',
    'Number of the pod with ready state.',
    (o) => `${count('status.readyReplicas')(o)}/${at(o, 'spec.replicas') ?? 1}`,
  ),
  {
    name: 'Up-to-date',
    type: 'integer',
    description: 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
    priority: 0,
    cell: count('status.updatedReplicas'),
  },
  {
    name: 'Available',
    type: 'integer',
    description: 'Total number of available pods targeted by this deployment.',
    priority: 0,
    cell: count('status.availableReplicas'),
  },
  ageColumn,
  computed(
    'Containers',
    'Names of each container in the template.',
    (o) =>
      templateContainers(o)
        .map((c) => c.name ?? '')
        .join(','),
    1,
  ),
  computed(
    'Images',
    'Images referenced by each container in the template.',
    (o) =>
      templateContainers(o)
        .map((c) => c.image ?? '')
        .join(','),
    1,
  ),
  computed('Selector', 'Label selector for pods.', (o) => labelsText(at(o, 'spec.selector.matchLabels')), 1),
];

const COLUMNS: Record<string, Column[]> = {
  ServiceEntry: [
    nameColumn,
    col('Hosts', 'spec.hosts', 'The hosts associated with the ServiceEntry'),
    col(
      'Location',
      'spec.location',
      'Whether the service is external to the mesh or part of the mesh (MESH_EXTERNAL or MESH_INTERNAL)',
    ),
    col('Resolution', 'spec.resolution', 'Service resolution mode for the hosts (NONE, STATIC, or DNS)'),
    ageColumn,
  ],
  VirtualService: [
    nameColumn,
    col('Gateways', 'spec.gateways', 'The names of gateways and sidecars that should apply these routes'),
    col('Hosts', 'spec.hosts', 'The destination hosts to which traffic is being sent'),
    ageColumn,
  ],
  DestinationRule: [nameColumn, col('Host', 'spec.host', 'The name of a service from the service registry'), ageColumn],
  WorkloadEntry: [
    nameColumn,
    ageColumn,
    col('Address', 'spec.address', 'Address associated with the network endpoint.'),
  ],
  MeshConfig: [
    nameColumn,
    col(
      'Outbound',
      'spec.outboundTrafficPolicy.mode',
      'Mesh-wide outbound traffic policy (ALLOW_ANY or REGISTRY_ONLY)',
    ),
    col('Egress-Mode', 'spec.egressMode', 'enforce, or audit (log what REGISTRY_ONLY would block)'),
    ageColumn,
  ],
  Pod: podColumns,
  Service: serviceColumns,
  Deployment: deploymentColumns,
  ServiceAccount: [
    nameColumn,
    {
      name: 'Secrets',
      type: 'integer',
      description: 'Number of secrets.',
      priority: 0,
      cell: (o) => ((o['secrets'] as unknown[] | undefined) ?? []).length,
    },
    ageColumn,
  ],
  Secret: [
    nameColumn,
    computed('Type', 'The type of the secret.', (o) => String(o['type'] ?? 'Opaque')),
    {
      name: 'Data',
      type: 'integer',
      description: 'Number of items in the secret.',
      priority: 0,
      cell: (o) =>
        Object.keys((o['data'] as object | undefined) ?? {}).length +
        Object.keys((o['stringData'] as object | undefined) ?? {}).length,
    },
    ageColumn,
  ],
  Namespace: [
    nameColumn,
    computed('Status', 'The phase of the namespace.', (o) => String(at(o, 'status.phase') ?? 'Active')),
    ageColumn,
  ],
};

export function columnsFor(kind: KindInfo): Column[] {
  return COLUMNS[kind.kind] ?? [nameColumn, ageColumn];
}

export interface TableOptions {
  includeObject: IncludeObject;
  /** Omit column definitions (watch events after the first). */
  omitColumns?: boolean;
  resourceVersion?: string;
  continueToken?: string;
  now?: number;
}

function rowObject(o: Obj, include: IncludeObject): Obj | undefined {
  if (include === 'None') return undefined;
  if (include === 'Object') return o;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata ?? {} };
}

/** A `meta.k8s.io/v1` Table of `objects` (already in the requested apiVersion). */
export function buildTable(kind: KindInfo, objects: Obj[], opts: TableOptions) {
  const columns = columnsFor(kind);
  const now = opts.now ?? Date.now();
  const metadata: Record<string, string> = {};
  if (opts.resourceVersion !== undefined) metadata['resourceVersion'] = opts.resourceVersion;
  if (opts.continueToken) metadata['continue'] = opts.continueToken;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: opts.omitColumns
      ? null
      : columns.map((c) => {
          const d: Record<string, unknown> = {
            name: c.name,
            type: c.type,
            format: c.format ?? '',
            description: c.description,
            priority: c.priority,
          };
          return d;
        }),
    rows: objects.map((o) => {
      const row: Record<string, unknown> = { cells: columns.map((c) => c.cell(o, now)) };
      const obj = rowObject(o, opts.includeObject);
      if (obj) row['object'] = obj;
      return row;
    }),
  };
}
