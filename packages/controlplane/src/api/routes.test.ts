import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFieldSelector } from './field-selector.js';
import { parseResourcePath } from './routes.js';

test('REST paths map to kind, version, namespace and name', () => {
  const se = parseResourcePath('/apis/networking.istio.io/v1alpha3/namespaces/default/serviceentries/mysql-external');
  assert.equal(se?.kind.kind, 'ServiceEntry');
  assert.equal(se?.version, 'v1alpha3');
  assert.equal(se?.namespace, 'default');
  assert.equal(se?.name, 'mysql-external');
  const all = parseResourcePath('/apis/networking.istio.io/v1beta1/virtualservices');
  assert.equal(all?.kind.kind, 'VirtualService');
  assert.equal(all?.namespace, undefined, 'every namespace');
  assert.equal(parseResourcePath('/api/v1/namespaces/default')?.kind.kind, 'Namespace');
  assert.equal(parseResourcePath('/api/v1/namespaces/default')?.name, 'default');
  assert.equal(parseResourcePath('/api/v1/namespaces/prod/services/ratings/status')?.subresource, 'status');
  assert.equal(parseResourcePath('/apis/sluice.dev/v1alpha1/meshconfigs/mesh')?.name, 'mesh');
  assert.equal(parseResourcePath('/version'), undefined, 'not a resource path');
});

test('paths naming nothing served are NotFound', () => {
  for (const p of [
    '/apis/networking.istio.io/v9/namespaces/default/serviceentries',
    '/apis/networking.istio.io/v1beta1/namespaces/default/gateways',
    '/apis/example.com/v1/widgets',
    '/apis/networking.istio.io/v1beta1/serviceentries/x',
    '/api/v1/namespaces/default/deployments',
    '/apis/sluice.dev/v1alpha1/namespaces/default/meshconfigs',
  ])
    assert.throws(() => parseResourcePath(p), { code: 'NotFound' }, p);
});

test('field selectors support metadata.name and metadata.namespace only', () => {
  const obj = { metadata: { name: 'a', namespace: 'default' } };
  assert.equal(parseFieldSelector('metadata.name=a')(obj), true);
  assert.equal(parseFieldSelector('metadata.name==b')(obj), false);
  assert.equal(parseFieldSelector('metadata.name!=b,metadata.namespace=default')(obj), true);
  assert.equal(parseFieldSelector(null)(obj), true);
  assert.throws(() => parseFieldSelector('spec.hosts=x'), { code: 'BadRequest' });
  assert.throws(() => parseFieldSelector('garbage'), { code: 'BadRequest' });
});
