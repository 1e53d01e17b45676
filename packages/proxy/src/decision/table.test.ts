import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { httpChain, portListener, tcpChain, virtualOutbound } from '../testing/resources.js';
import type { Listener } from '../xds/resources.js';
import type { EgressReason, EgressVerdict } from './decision.js';
import { compileDecisionTable, type DecisionTable, decideEgress, decideInbound, needsTlsInspection } from './table.js';

const CAPTURE = 15001;

function compile(listeners: Listener[]): DecisionTable {
  const r = compileDecisionTable(listeners, { capturePort: CAPTURE });
  assert.deepEqual(r.findings, []);
  return r.table!;
}

/** A mesh like the Istio egress walkthrough, plus edges. */
const mesh = (mode: 'ALLOW_ANY' | 'REGISTRY_ONLY' | 'AUDIT') =>
  compile([
    virtualOutbound(mode),
    portListener('10.1.2.3', 3306, [
      tcpChain('outbound|3306||mysql-exact.example.com', {}, { rule: 'ServiceEntry/default/mysql-exact' }),
    ]),
    portListener('0.0.0.0', 3306, [
      tcpChain(
        'outbound|3306||db-cidr16',
        { prefix_ranges: [{ address_prefix: '10.1.0.0', prefix_len: 16 }] },
        { rule: 'ServiceEntry/default/cidr16' },
      ),
      tcpChain(
        'outbound|3306||db-cidr24',
        { prefix_ranges: [{ address_prefix: '10.1.2.0', prefix_len: 24 }] },
        { rule: 'ServiceEntry/default/cidr24' },
      ),
      tcpChain('outbound|3306||db-host', { prefix_ranges: [{ address_prefix: '10.9.9.9', prefix_len: 32 }] }),
      tcpChain('outbound|3306||v6', { prefix_ranges: [{ address_prefix: 'fd00:1::', prefix_len: 32 }] }),
      tcpChain('outbound|3306||v6-host', { prefix_ranges: [{ address_prefix: 'fd00:1::5', prefix_len: 128 }] }),
      tcpChain('outbound|3306||mapped', { prefix_ranges: [{ address_prefix: '::ffff:172.16.0.0', prefix_len: 108 }] }),
    ]),
    portListener('0.0.0.0', 5432, [tcpChain('outbound|5432||pg.example.com', {}, { rule: 'ServiceEntry/default/pg' })]),
    portListener('0.0.0.0', 443, [
      tcpChain('outbound|443||api.example.com', { server_names: ['api.example.com'], transport_protocol: 'tls' }),
      tcpChain('outbound|443||wild.example.org', { server_names: ['*.example.org'], transport_protocol: 'tls' }),
      tcpChain('PassthroughCluster', {}, { name: 'fallthrough-443' }),
    ]),
    portListener('0.0.0.0', 6000, [
      tcpChain('outbound|6000||all', { prefix_ranges: [{ address_prefix: '0.0.0.0', prefix_len: 0 }] }),
    ]),
    portListener('0.0.0.0', 9080, [httpChain('9080')]),
  ]);

interface Row {
  name: string;
  ip: string;
  port: number;
  sni?: string;
  verdict: EgressVerdict;
  reason: EgressReason;
  cluster: string;
}

const rows = (mode: 'ALLOW_ANY' | 'REGISTRY_ONLY' | 'AUDIT'): Row[] => {
  const fallback: Pick<Row, 'verdict' | 'reason' | 'cluster'> =
    mode === 'ALLOW_ANY'
      ? { verdict: 'passthrough', reason: 'allow-any', cluster: 'PassthroughCluster' }
      : mode === 'AUDIT'
        ? { verdict: 'audit-passthrough', reason: 'audit-would-block', cluster: 'PassthroughCluster' }
        : { verdict: 'blackhole', reason: 'registry-only', cluster: 'BlackHoleCluster' };
  return [
    {
      name: 'capture port itself',
      ip: '10.1.2.3',
      port: CAPTURE,
      verdict: 'blackhole',
      reason: 'capture-port',
      cluster: 'BlackHoleCluster',
    },
    {
      name: 'address-specific listener beats CIDRs',
      ip: '10.1.2.3',
      port: 3306,
      verdict: 'route',
      reason: 'exact-ip',
      cluster: 'outbound|3306||mysql-exact.example.com',
    },
    {
      name: '/32 prefix is exact',
      ip: '10.9.9.9',
      port: 3306,
      verdict: 'route',
      reason: 'exact-ip',
      cluster: 'outbound|3306||db-host',
    },
    {
      name: 'longest CIDR wins (/24 over /16)',
      ip: '10.1.2.4',
      port: 3306,
      verdict: 'route',
      reason: 'cidr',
      cluster: 'outbound|3306||db-cidr24',
    },
    {
      name: 'shorter CIDR when the longer misses',
      ip: '10.1.3.1',
      port: 3306,
      verdict: 'route',
      reason: 'cidr',
      cluster: 'outbound|3306||db-cidr16',
    },
    {
      name: 'CIDR edge: first address of /16',
      ip: '10.1.0.0',
      port: 3306,
      verdict: 'route',
      reason: 'cidr',
      cluster: 'outbound|3306||db-cidr16',
    },
    {
      name: 'CIDR edge: last address of /16',
      ip: '10.1.255.255',
      port: 3306,
      verdict: 'route',
      reason: 'cidr',
      cluster: 'outbound|3306||db-cidr16',
    },
    { name: 'CIDR edge: just outside /16', ip: '10.2.0.0', port: 3306, ...fallback },
    {
      name: 'IPv4-mapped IPv6 destination is IPv4',
      ip: '::ffff:10.1.2.3',
      port: 3306,
      verdict: 'route',
      reason: 'exact-ip',
      cluster: 'outbound|3306||mysql-exact.example.com',
    },
    {
      name: 'IPv4-mapped IPv6 prefix matches IPv4',
      ip: '172.16.4.4',
      port: 3306,
      verdict: 'route',
      reason: 'cidr',
      cluster: 'outbound|3306||mapped',
    },
    {
      name: 'IPv6 /128',
      ip: 'fd00:1::5',
      port: 3306,
      verdict: 'route',
      reason: 'exact-ip',
      cluster: 'outbound|3306||v6-host',
    },
    {
      name: 'IPv6 /32',
      ip: 'fd00:1:ffff::1',
      port: 3306,
      verdict: 'route',
      reason: 'cidr',
      cluster: 'outbound|3306||v6',
    },
    { name: 'IPv6 outside', ip: 'fd00:2::1', port: 3306, ...fallback },
    {
      name: 'port-only entry',
      ip: '203.0.113.7',
      port: 5432,
      verdict: 'route',
      reason: 'port-only',
      cluster: 'outbound|5432||pg.example.com',
    },
    {
      name: '/0 matches every IPv4 address on its port',
      ip: '198.51.100.1',
      port: 6000,
      verdict: 'route',
      reason: 'cidr',
      cluster: 'outbound|6000||all',
    },
    { name: '/0 does not match IPv6', ip: 'fd00:9::1', port: 6000, ...fallback },
    {
      name: 'SNI exact',
      ip: '198.51.100.2',
      port: 443,
      sni: 'api.example.com',
      verdict: 'route',
      reason: 'sni',
      cluster: 'outbound|443||api.example.com',
    },
    {
      name: 'SNI is case-insensitive',
      ip: '198.51.100.2',
      port: 443,
      sni: 'API.Example.com',
      verdict: 'route',
      reason: 'sni',
      cluster: 'outbound|443||api.example.com',
    },
    {
      name: 'SNI wildcard',
      ip: '198.51.100.2',
      port: 443,
      sni: 'a.b.example.org',
      verdict: 'route',
      reason: 'sni',
      cluster: 'outbound|443||wild.example.org',
    },
    {
      name: 'unknown SNI takes the port fall-through',
      ip: '198.51.100.2',
      port: 443,
      sni: 'evil.example.net',
      verdict: 'passthrough',
      reason: 'allow-any',
      cluster: 'PassthroughCluster',
    },
    {
      name: 'HTTP port hands off to the router',
      ip: '198.51.100.3',
      port: 9080,
      verdict: 'route',
      reason: 'port-only',
      cluster: '',
    },
    { name: 'unknown port: the mode decides', ip: '198.51.100.4', port: 7777, ...fallback },
  ];
};

describe('decideEgress precedence, verdict and reason', () => {
  for (const mode of ['ALLOW_ANY', 'REGISTRY_ONLY', 'AUDIT'] as const) {
    const table = mesh(mode);
    for (const r of rows(mode)) {
      test(`${mode}: ${r.name}`, () => {
        const d = decideEgress(table, { ip: r.ip, port: r.port }, r.sni);
        assert.equal(d.verdict, r.verdict);
        assert.equal(d.reason, r.reason);
        assert.equal(d.cluster, r.cluster);
      });
    }
  }

  test('no fallback anywhere: black hole, no-filter-chain', () => {
    const t = compile([
      portListener('0.0.0.0', 3306, [
        tcpChain('x', { prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] }),
      ]),
    ]);
    const d = decideEgress(t, { ip: '192.0.2.1', port: 3306 });
    assert.deepEqual([d.verdict, d.reason], ['blackhole', 'no-filter-chain']);
  });

  test('no table: fail closed', () => {
    const d = decideEgress(undefined, { ip: '10.1.2.3', port: 3306 });
    assert.deepEqual([d.verdict, d.reason], ['blackhole', 'no-config']);
  });

  test('a connection that was not redirected is black-holed', () => {
    const d = decideEgress(mesh('ALLOW_ANY'), null);
    assert.deepEqual([d.verdict, d.reason], ['blackhole', 'capture-port']);
  });

  test('the decision names the rule behind it', () => {
    const d = decideEgress(mesh('REGISTRY_ONLY'), { ip: '10.1.2.3', port: 3306 });
    assert.equal(d.rule, 'ServiceEntry/default/mysql-exact');
    assert.equal(d.isDefault, false);
    assert.equal(decideEgress(mesh('REGISTRY_ONLY'), { ip: '8.8.8.8', port: 1 }).isDefault, true);
  });

  test('only ports whose chains differ by TLS need the ClientHello (server-first ports never wait)', () => {
    const t = mesh('REGISTRY_ONLY');
    assert.equal(needsTlsInspection(t, { ip: '198.51.100.2', port: 443 }), true);
    assert.equal(needsTlsInspection(t, { ip: '10.1.2.3', port: 3306 }), false);
    assert.equal(needsTlsInspection(t, { ip: '198.51.100.4', port: 7777 }), false);
  });
});

describe('shared ports and conflicts', () => {
  test('two port-only TCP chains on one port are rejected, naming listener and field', () => {
    const r = compileDecisionTable(
      [portListener('0.0.0.0', 3306, [tcpChain('outbound|3306||a'), tcpChain('outbound|3306||b')])],
      { capturePort: CAPTURE },
    );
    assert.equal(r.table, undefined);
    assert.equal(r.findings[0]?.resource, '0.0.0.0_3306');
    assert.equal(r.findings[0]?.path, 'filter_chains[1].filter_chain_match');
  });

  test('two listeners on the same address:port are rejected', () => {
    const r = compileDecisionTable(
      [
        portListener('0.0.0.0', 3306, [tcpChain('a')]),
        { ...portListener('0.0.0.0', 3306, [tcpChain('b')]), name: 'other' },
      ],
      { capturePort: CAPTURE },
    );
    assert.equal(r.findings[0]?.resource, 'other');
    assert.equal(r.findings[0]?.path, 'address.socket_address');
  });

  test('an exact IP, a CIDR and a port-only entry share a port; each wins for its own addresses', () => {
    const t = compile([
      virtualOutbound('REGISTRY_ONLY'),
      portListener('10.0.0.1', 27017, [tcpChain('exact')]),
      portListener('0.0.0.0', 27017, [
        tcpChain('cidr', { prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] }),
        tcpChain('any'),
      ]),
    ]);
    const at = (ip: string) => decideEgress(t, { ip, port: 27017 });
    assert.deepEqual([at('10.0.0.1').cluster, at('10.0.0.1').reason], ['exact', 'exact-ip']);
    assert.deepEqual([at('10.0.0.2').cluster, at('10.0.0.2').reason], ['cidr', 'cidr']);
    assert.deepEqual([at('192.0.2.1').cluster, at('192.0.2.1').reason], ['any', 'port-only']);
  });

  test('an address-specific listener alone does not claim the rest of the port', () => {
    const t = compile([virtualOutbound('ALLOW_ANY'), portListener('10.0.0.1', 3306, [tcpChain('exact')])]);
    assert.equal(decideEgress(t, { ip: '10.0.0.2', port: 3306 }).reason, 'allow-any');
  });

  test('a chain with an invalid prefix is rejected with its field path', () => {
    const r = compileDecisionTable(
      [
        portListener('0.0.0.0', 1, [
          tcpChain('x', { prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 33 }] }),
        ]),
      ],
      { capturePort: CAPTURE },
    );
    assert.equal(r.findings[0]?.path, 'filter_chains[0].filter_chain_match.prefix_ranges[0].prefix_len');
  });
});

describe('decideInbound', () => {
  test('inbound chains by port, passthrough without virtualInbound', () => {
    const inbound: Listener = {
      name: 'virtualInbound',
      address: { socket_address: { address: '0.0.0.0', port_value: 15006 } },
      traffic_direction: 'INBOUND',
      filter_chains: [tcpChain('inbound|9080||', { destination_port: 9080 })],
      default_filter_chain: tcpChain('InboundPassthroughClusterIpv4'),
    };
    const t = compile([inbound]);
    assert.deepEqual(
      [
        decideInbound(t, { ip: '10.0.0.5', port: 9080 }).cluster,
        decideInbound(t, { ip: '10.0.0.5', port: 9080 }).reason,
      ],
      ['inbound|9080||', 'port-only'],
    );
    assert.equal(decideInbound(t, { ip: '10.0.0.5', port: 1 }).verdict, 'passthrough');
    assert.equal(decideInbound(compile([]), { ip: '10.0.0.5', port: 1 }).reason, 'inbound-passthrough');
  });
});
