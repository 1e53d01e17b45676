/**
 * Structural schemas of the Kubernetes kinds Sluice runs, limited to the documented subset in
 * kinds.ts. Any other field is a real Kubernetes field Sluice ignores: reported as SLC0006.
 */
import { any, arr, bool, type ObjectSchema, oneOf, range, type Schema, str, stringMap, strings } from './schema.js';

function subset(fields: Record<string, Schema>, required: readonly string[] = []): ObjectSchema {
  return { type: 'object', fields, required, others: 'unsupported' };
}

const port = range(1, 65535);
const protocol = oneOf(['TCP', 'UDP', 'SCTP']);
const intOrString: Schema = { type: 'intOrString' };

const container = subset(
  {
    name: str,
    image: str,
    imagePullPolicy: oneOf(['Always', 'IfNotPresent', 'Never']),
    command: strings,
    args: strings,
    env: arr(
      subset(
        {
          name: str,
          value: str,
          valueFrom: subset({ secretKeyRef: subset({ name: str, key: str, optional: bool }, ['name', 'key']) }),
        },
        ['name'],
      ),
    ),
    ports: arr(subset({ containerPort: port, name: str, protocol }, ['containerPort'])),
    readinessProbe: subset({
      httpGet: subset({ path: str, port: intOrString }, ['port']),
      initialDelaySeconds: range(0),
      periodSeconds: range(1),
    }),
    securityContext: subset({ runAsUser: range(0) }),
    volumeMounts: arr(subset({ name: str, mountPath: str }, ['name', 'mountPath'])),
  },
  ['name', 'image'],
);

export const podSpec = subset({
  nodeName: str,
  serviceAccountName: str,
  containers: arr(container),
  volumes: arr(subset({ name: str, emptyDir: any }, ['name'])),
});

export const serviceSpec = subset({
  selector: stringMap,
  ports: arr(subset({ name: str, port, targetPort: intOrString, protocol, appProtocol: str }, ['port'])),
  clusterIP: str,
  type: oneOf(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']),
});

export const deploymentSpec = subset(
  {
    replicas: range(0),
    selector: subset({ matchLabels: stringMap }),
    template: subset(
      {
        metadata: subset({ labels: stringMap, annotations: stringMap }),
        spec: subset(
          {
            serviceAccountName: str,
            containers: arr(container),
            volumes: arr(subset({ name: str, emptyDir: any }, ['name'])),
          },
          ['containers'],
        ),
      },
      ['spec'],
    ),
  },
  ['template'],
);

export const K8S_SPECS: Record<string, ObjectSchema> = {
  Service: serviceSpec,
  Deployment: deploymentSpec,
  Pod: podSpec,
  Namespace: subset({}),
};

/** Top-level fields besides apiVersion/kind/metadata/spec/status, per kind. */
export const K8S_TOP_LEVEL: Record<string, Record<string, Schema>> = {
  Secret: { data: stringMap, stringData: stringMap, type: str },
};
