/**
 * Discovery documents kubectl reads before anything else: `/api`, `/api/v1`, `/apis`,
 * `/apis/{group}`, `/apis/{group}/{version}` and `/version`.
 */
import { ISTIO_GROUP, KINDS, type KindInfo } from '@sluice/config';
import { kindsIn } from './routes.js';

/**
 * The version kubectl uses when a command names only the kind (`kubectl get se`). For Istio's group
 * it is v1beta1, what an Istio 1.8 cluster (the kubectl 1.20 era) advertises; manifests and
 * `se.v1alpha3.networking.istio.io` still use the version they name.
 */
export const PREFERRED_VERSIONS: Readonly<Record<string, string>> = {
  [ISTIO_GROUP]: 'v1beta1',
};

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function groupNames(): string[] {
  return [...new Set(KINDS.filter((k) => k.group !== '').map((k) => k.group))].sort();
}

export function groupVersions(group: string): string[] {
  const versions = [...new Set(KINDS.filter((k) => k.group === group).flatMap((k) => k.versions))];
  const preferred = preferredVersion(group, versions);
  return [preferred, ...versions.filter((v) => v !== preferred)];
}

function preferredVersion(group: string, versions: string[]): string {
  const p = PREFERRED_VERSIONS[group];
  return p && versions.includes(p) ? p : versions[0]!;
}

export function apiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function apiGroup(group: string) {
  const versions = groupVersions(group).map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions, preferredVersion: versions[0]! };
}

export function apiGroupList() {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groupNames().map(apiGroup) };
}

export function apiGroupDocument(group: string) {
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) };
}

function apiResource(k: KindInfo) {
  const r: Record<string, unknown> = {
    name: k.plural,
    singularName: k.singular,
    namespaced: k.namespaced,
    kind: k.kind,
    verbs: ALL_VERBS,
  };
  if (k.shortNames.length > 0) r['shortNames'] = k.shortNames;
  if (k.categories.length > 0) r['categories'] = k.categories;
  return r;
}

function statusSubresource(k: KindInfo) {
  return {
    name: `${k.plural}/status`,
    singularName: '',
    namespaced: k.namespaced,
    kind: k.kind,
    verbs: ['get', 'patch', 'update'],
  };
}

export function apiResourceList(group: string, version: string) {
  const kinds = kindsIn(group, version);
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: kinds.flatMap((k) => [apiResource(k), statusSubresource(k)]),
  };
}

export function versionInfo() {
  return {
    major: '1',
    minor: '20',
    gitVersion: 'v1.20.0-sluice',
    gitCommit: '',
    gitTreeState: 'clean',
    buildDate: '1970-01-01T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'tsx',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}
