import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeploymentSpec, Resource } from '@sluice/config';
import { lookupImage, PodSpecError, planDeployment, podName } from './pod-spec.js';

const images = {
  'docker.io/istio/examples-bookinfo-ratings-v2:1.20.3': {
    command: ['node', 'ratings.js'],
    env: { SERVICE_VERSION: 'v2' },
  },
};

const secret: Resource = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'mysql-credentials', namespace: 'default' },
  data: { password: Buffer.from('s3cret').toString('base64') },
  stringData: { user: 'bookinfo' },
};

function deployment(
  env: NonNullable<DeploymentSpec['template']['spec']['containers'][0]['env']>,
  extra = {},
): Resource<DeploymentSpec> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'ratings-v2-mysql', namespace: 'default' },
    spec: {
      replicas: 2,
      template: {
        metadata: { labels: { app: 'ratings', version: 'v2-mysql' } },
        spec: {
          containers: [
            {
              name: 'ratings',
              image: 'docker.io/istio/examples-bookinfo-ratings-v2:1.20.3',
              env,
              ports: [{ containerPort: 9080 }],
              ...extra,
            },
          ],
        },
      },
    },
  };
}

test('a Deployment becomes one plan per replica with the image command and resolved secrets', () => {
  const plans = planDeployment(
    deployment([
      { name: 'DB_TYPE', value: 'mysql' },
      { name: 'MYSQL_DB_USER', valueFrom: { secretKeyRef: { name: 'mysql-credentials', key: 'user' } } },
      { name: 'MYSQL_DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'mysql-credentials', key: 'password' } } },
    ]),
    images,
    [secret],
  );
  assert.equal(plans.length, 2);
  assert.notEqual(plans[0]?.name, plans[1]?.name);
  assert.match(plans[0]?.name ?? '', /^ratings-v2-mysql-[0-9a-f]{9}-[0-9a-f]{5}$/);
  const c = plans[0]?.containers[0];
  assert.deepEqual(c?.argv, ['node', 'ratings.js']);
  assert.equal(c?.env.SERVICE_VERSION, 'v2');
  assert.equal(c?.env.MYSQL_DB_USER, 'bookinfo');
  assert.equal(c?.env.MYSQL_DB_PASSWORD, 's3cret');
  assert.equal(c?.env.HOSTNAME, plans[0]?.name);
  assert.equal(c?.uid, 1000);
  assert.deepEqual(plans[0]?.labels, { app: 'ratings', version: 'v2-mysql' });
});

test('a missing secret names the env entry that needs it', () => {
  assert.throws(
    () =>
      planDeployment(deployment([{ name: 'P', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }]), images, []),
    (e: unknown) =>
      e instanceof PodSpecError &&
      e.code === 'SecretNotFound' &&
      e.message.includes('spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef'),
  );
});

test('an optional missing secret key is skipped', () => {
  const plans = planDeployment(
    deployment([
      { name: 'P', valueFrom: { secretKeyRef: { name: 'mysql-credentials', key: 'nokey', optional: true } } },
    ]),
    images,
    [secret],
  );
  assert.equal(plans[0]?.containers[0]?.env.P, undefined);
});

test('running as the sidecar uid or root is refused', () => {
  for (const uid of [1337, 0]) {
    assert.throws(
      () => planDeployment(deployment([], { securityContext: { runAsUser: uid } }), images, []),
      (e: unknown) => e instanceof PodSpecError && e.code === 'ProxyUidRefused',
    );
  }
});

test('an unknown image is an error naming the field', () => {
  const d = deployment([]);
  d.spec!.template.spec.containers[0]!.image = 'example/unknown:1';
  assert.throws(
    () => planDeployment(d, images, []),
    (e: unknown) => e instanceof PodSpecError && /containers\[0\]\.image/.test(e.message),
  );
});

test('image lookup ignores the docker.io prefix', () => {
  assert.ok(lookupImage(images, 'istio/examples-bookinfo-ratings-v2:1.20.3'));
});

test('pod names are stable for the same template and replica', () => {
  assert.equal(podName('a', 'abcdef1234', 0), podName('a', 'abcdef1234', 0));
  assert.notEqual(podName('a', 'abcdef1234', 0), podName('a', 'abcdef1235', 0));
});
