/**
 * Runs after every other part of the suite: the machine must look as it did before — no network
 * namespace, bridge or veth of Sluice's left, the host's iptables rules unchanged, no process
 * listening on the mesh's ports. scripts/test.sh records the baseline in $SLUICE_BASELINE_DIR.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { iptablesRules, links, meshPortListeners, netnsList, SLUICE_PREFIXES } from './machine-state.js';

const baseDir = process.env.SLUICE_BASELINE_DIR;
const baseline =
  baseDir && existsSync(path.join(baseDir, 'netns'))
    ? {
        netns: JSON.parse(readFileSync(path.join(baseDir, 'netns'), 'utf8')) as string[],
        links: JSON.parse(readFileSync(path.join(baseDir, 'links'), 'utf8')) as string[],
        ports: JSON.parse(readFileSync(path.join(baseDir, 'ports'), 'utf8')) as string[],
        iptables: readFileSync(path.join(baseDir, 'iptables'), 'utf8'),
        ip6tables: readFileSync(path.join(baseDir, 'ip6tables'), 'utf8'),
      }
    : undefined;

const sluiceOnly = (xs: string[], before: string[] = []) =>
  xs.filter((x) => SLUICE_PREFIXES.test(x) && !before.includes(x));

test('no Sluice network namespace, bridge or veth was left behind', () => {
  assert.deepEqual(sluiceOnly(netnsList(), baseline?.netns), []);
  assert.deepEqual(sluiceOnly(links(), baseline?.links), []);
  if (baseline) assert.deepEqual(netnsList(), baseline.netns, 'the namespaces are exactly as before the suite');
});

test('the host iptables rules are as before the suite', () => {
  if (baseline) {
    assert.equal(iptablesRules('iptables-save'), baseline.iptables);
    assert.equal(iptablesRules('ip6tables-save'), baseline.ip6tables);
  } else {
    assert.doesNotMatch(iptablesRules('iptables-save'), /SLUICE/);
    assert.doesNotMatch(iptablesRules('ip6tables-save'), /SLUICE/);
  }
});

test('nothing new listens on the mesh ports', () => {
  assert.deepEqual(
    meshPortListeners().filter((p) => !(baseline?.ports ?? []).includes(p)),
    [],
  );
});
