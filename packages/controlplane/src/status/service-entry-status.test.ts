import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '@sluice/config';
import {
  CONFLICT_CONDITION_TYPE,
  nextServiceEntryStatus,
  planServiceEntryStatuses,
  sameJson,
  withAllocatedVips,
} from './service-entry-status.js';

function se(name: string, created: string, spec: Record<string, unknown>, status?: Record<string, unknown>): Resource {
  const r: Resource = {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'ServiceEntry',
    metadata: { name, namespace: 'default', creationTimestamp: created },
    spec: { location: 'MESH_EXTERNAL', ...spec },
  };
  if (status) r.status = status;
  return r;
}

const tcp = (port: number) => ({ ports: [{ name: 'tcp', number: port, protocol: 'TCP' }] });
const fixedNow = () => '2030-01-01T00:00:00Z';

test('DNS entries without addresses get VIPs in creation order; recorded ones are kept', () => {
  const plans = planServiceEntryStatuses([
    se('b', '2030-01-01T00:00:02Z', { hosts: ['b.example.com'], resolution: 'DNS', ...tcp(3306) }),
    se('a', '2030-01-01T00:00:01Z', { hosts: ['a.example.com'], resolution: 'DNS', ...tcp(3306) }),
    se(
      'c',
      '2030-01-01T00:00:03Z',
      { hosts: ['c.example.com'], resolution: 'DNS', ...tcp(3306) },
      {
        addresses: [{ value: '240.240.0.9', host: 'c.example.com' }],
      },
    ),
    se('n', '2030-01-01T00:00:04Z', { hosts: ['n.example.com'], resolution: 'NONE', ...tcp(5432) }),
    se('s', '2030-01-01T00:00:05Z', {
      hosts: ['s.example.com'],
      resolution: 'DNS',
      addresses: ['192.0.2.1'],
      ...tcp(5432),
    }),
  ]);
  assert.deepEqual(plans.get('default/a')?.addresses, [{ value: '240.240.0.1', host: 'a.example.com' }]);
  assert.deepEqual(plans.get('default/b')?.addresses, [{ value: '240.240.0.2', host: 'b.example.com' }]);
  assert.deepEqual(plans.get('default/c')?.addresses, [{ value: '240.240.0.9', host: 'c.example.com' }]);
  assert.equal(plans.get('default/n')?.addresses, undefined, 'NONE resolution gets no VIP');
  assert.equal(plans.get('default/s')?.addresses, undefined, 'user-set addresses get no VIP');
  for (const p of plans.values()) assert.deepEqual(p.lostPorts, [], 'entries with VIPs share no port');
});

test('the younger of two address-less NONE entries loses the port; the winner carries nothing', () => {
  const plans = planServiceEntryStatuses([
    se('young', '2030-01-01T00:00:02Z', { hosts: ['y.example.com'], resolution: 'NONE', ...tcp(3306) }),
    se('old', '2030-01-01T00:00:01Z', { hosts: ['o.example.com'], resolution: 'NONE', ...tcp(3306) }),
  ]);
  assert.deepEqual(plans.get('default/old')?.lostPorts, []);
  const lost = plans.get('default/young')?.lostPorts ?? [];
  assert.equal(lost.length, 1);
  assert.equal(lost[0]?.port, 3306);
  assert.equal(lost[0]?.winner.name, 'old');
  const status = nextServiceEntryStatus(undefined, plans.get('default/young')!, fixedNow);
  assert.deepEqual(status, {
    conditions: [
      {
        type: 'Conflict',
        status: 'True',
        reason: 'SharedPortConflict',
        message:
          "port 3306 is already claimed by ServiceEntry default/old (older); this entry's TCP port 3306 is ignored — give it addresses or a DNS resolution so it gets a VIP",
        lastTransitionTime: '2030-01-01T00:00:00Z',
      },
    ],
  });
  assert.equal(nextServiceEntryStatus(undefined, plans.get('default/old')!, fixedNow), undefined);
});

test('a DNS entry with no recorded VIP does not count as a port claimant (the translation gives it one)', () => {
  const plans = planServiceEntryStatuses([
    se('old', '2030-01-01T00:00:01Z', { hosts: ['o.example.com'], resolution: 'NONE', ...tcp(3306) }),
    se('dns', '2030-01-01T00:00:02Z', { hosts: ['d.example.com'], resolution: 'DNS', ...tcp(3306) }),
  ]);
  assert.deepEqual(plans.get('default/dns')?.lostPorts, []);
});

test('status updates keep other fields, other conditions and an unchanged transition time', () => {
  const plans = planServiceEntryStatuses([
    se('old', '2030-01-01T00:00:01Z', { hosts: ['o.example.com'], resolution: 'NONE', ...tcp(3306) }),
    se('young', '2030-01-01T00:00:02Z', { hosts: ['y.example.com'], resolution: 'NONE', ...tcp(3306) }),
  ]);
  const plan = plans.get('default/young')!;
  const current = {
    observedGeneration: 3,
    conditions: [
      { type: 'Reconciled', status: 'True' },
      {
        type: CONFLICT_CONDITION_TYPE,
        status: 'True',
        message: 'stale text',
        lastTransitionTime: '2029-05-05T00:00:00Z',
      },
    ],
  };
  const next = nextServiceEntryStatus(current, plan, fixedNow)!;
  assert.equal(next['observedGeneration'], 3);
  const conditions = next['conditions'] as { type: string; lastTransitionTime?: string; message?: string }[];
  assert.deepEqual(
    conditions.map((c) => c.type),
    ['Reconciled', 'Conflict'],
  );
  assert.equal(conditions[1]?.lastTransitionTime, '2029-05-05T00:00:00Z');
  assert.match(conditions[1]?.message ?? '', /default\/old/);
  // Applying it again changes nothing: the controller writes nothing the second time.
  assert.ok(
    sameJson(
      nextServiceEntryStatus(next, plan, () => 'later'),
      next,
    ),
  );
  // The conflict ends: the condition goes, the rest stays.
  const cleared = nextServiceEntryStatus(next, { ...plan, lostPorts: [] }, fixedNow);
  assert.deepEqual(cleared, { observedGeneration: 3, conditions: [{ type: 'Reconciled', status: 'True' }] });
});

test('an entry that stops needing a VIP loses its recorded address', () => {
  const entry = se(
    'a',
    '2030-01-01T00:00:01Z',
    { hosts: ['a.example.com'], resolution: 'NONE', ...tcp(3306) },
    {
      addresses: [{ value: '240.240.0.1', host: 'a.example.com' }],
    },
  );
  const [effective] = withAllocatedVips([entry]);
  assert.equal(effective?.status, undefined);
  assert.ok(entry.status, 'the input is not mutated');
  const plan = planServiceEntryStatuses([entry]).get('default/a')!;
  assert.equal(nextServiceEntryStatus(entry.status, plan, fixedNow), undefined);
});
