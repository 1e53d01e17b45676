import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captureRules } from './capture-rules.js';

const istioPorts = { proxyUid: 1337, outboundPort: 15001, inboundPort: 15006, dnsPort: 15053 };
/** The nat section of a rule text (the filter section follows it). */
const nat = (text: string) => text.slice(0, text.indexOf('*filter'));

test('default capture: DNS to 15053, outbound TCP to 15001, declared inbound port to 15006', () => {
  const { ipv4 } = captureRules({ ...istioPorts, inboundPorts: [9080] });
  assert.equal(
    nat(ipv4),
    [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      ':SLUICE_INBOUND - [0:0]',
      ':SLUICE_IN_REDIRECT - [0:0]',
      ':SLUICE_OUTPUT - [0:0]',
      ':SLUICE_REDIRECT - [0:0]',
      '-A PREROUTING -p tcp -j SLUICE_INBOUND',
      '-A OUTPUT -p tcp -j SLUICE_OUTPUT',
      '-A OUTPUT -p udp -j SLUICE_OUTPUT',
      '-A SLUICE_INBOUND -i eth0 -p tcp -m tcp --dport 9080 -j SLUICE_IN_REDIRECT',
      '-A SLUICE_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006',
      '-A SLUICE_OUTPUT -m owner --uid-owner 1337 -j RETURN',
      '-A SLUICE_OUTPUT -p udp -m udp --dport 53 -j REDIRECT --to-ports 15053',
      '-A SLUICE_OUTPUT -p tcp -m tcp --dport 53 -j REDIRECT --to-ports 15053',
      '-A SLUICE_OUTPUT -p udp -j RETURN',
      '-A SLUICE_OUTPUT -d 127.0.0.0/8 -j RETURN',
      '-A SLUICE_OUTPUT -p tcp -j SLUICE_REDIRECT',
      '-A SLUICE_REDIRECT -p tcp -j REDIRECT --to-ports 15001',
      'COMMIT',
      '',
    ].join('\n'),
  );
});

test('IPv6 rules are the same transaction with ::1 as the loopback exemption', () => {
  const { ipv4, ipv6 } = captureRules({ ...istioPorts, inboundPorts: [9080] });
  assert.equal(
    ipv6,
    ipv4
      .replace('-d 127.0.0.0/8 -j RETURN', '-d ::1/128 -j RETURN')
      .replaceAll('icmp-port-unreachable', 'icmp6-port-unreachable'),
  );
  assert.match(ipv6, /^-A SLUICE_OUTPUT -d ::1\/128 -j RETURN$/m);
  assert.doesNotMatch(ipv6, /127\.0\.0\.0/);
});

test('a workload serving no ports gets no inbound capture rule but keeps the chains', () => {
  const { ipv4 } = captureRules({ ...istioPorts, inboundPorts: [] });
  assert.doesNotMatch(ipv4, /-A SLUICE_INBOUND /);
  assert.match(ipv4, /^:SLUICE_INBOUND - \[0:0\]$/m);
  assert.match(ipv4, /^-A SLUICE_REDIRECT -p tcp -j REDIRECT --to-ports 15001$/m);
});

test('several inbound ports, one excluded; excluded outbound ports return before the redirect', () => {
  const { ipv4 } = captureRules({
    ...istioPorts,
    inboundPorts: [9080, 8080, 3000],
    excludeInboundPorts: [8080],
    excludeOutboundPorts: [22, 5432],
  });
  const rules = nat(ipv4)
    .split('\n')
    .filter((l) => l.startsWith('-A SLUICE_'));
  assert.deepEqual(rules, [
    '-A SLUICE_INBOUND -i eth0 -p tcp -m tcp --dport 9080 -j SLUICE_IN_REDIRECT',
    '-A SLUICE_INBOUND -i eth0 -p tcp -m tcp --dport 3000 -j SLUICE_IN_REDIRECT',
    '-A SLUICE_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006',
    '-A SLUICE_OUTPUT -m owner --uid-owner 1337 -j RETURN',
    '-A SLUICE_OUTPUT -p udp -m udp --dport 53 -j REDIRECT --to-ports 15053',
    '-A SLUICE_OUTPUT -p tcp -m tcp --dport 53 -j REDIRECT --to-ports 15053',
    '-A SLUICE_OUTPUT -p udp -j RETURN',
    '-A SLUICE_OUTPUT -p tcp -m tcp --dport 22 -j RETURN',
    '-A SLUICE_OUTPUT -p tcp -m tcp --dport 5432 -j RETURN',
    '-A SLUICE_OUTPUT -d 127.0.0.0/8 -j RETURN',
    '-A SLUICE_OUTPUT -p tcp -j SLUICE_REDIRECT',
    '-A SLUICE_REDIRECT -p tcp -j REDIRECT --to-ports 15001',
  ]);
});

test('other proxy uid, ports and interface name show up in the rules', () => {
  const { ipv4 } = captureRules({
    proxyUid: 2000,
    outboundPort: 16001,
    inboundPort: 16006,
    dnsPort: 16053,
    inboundPorts: [80],
    interfaceName: 'veth1',
  });
  assert.match(ipv4, /^-A SLUICE_OUTPUT -m owner --uid-owner 2000 -j RETURN$/m);
  assert.match(ipv4, /^-A SLUICE_INBOUND -i veth1 -p tcp -m tcp --dport 80 -j SLUICE_IN_REDIRECT$/m);
  assert.match(ipv4, /^-A SLUICE_IN_REDIRECT -p tcp -j REDIRECT --to-ports 16006$/m);
  assert.match(ipv4, /^-A SLUICE_OUTPUT -p udp -m udp --dport 53 -j REDIRECT --to-ports 16053$/m);
  assert.match(ipv4, /^-A SLUICE_REDIRECT -p tcp -j REDIRECT --to-ports 16001$/m);
});

test('bad options are refused with the field path and the rule broken', () => {
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ inboundPorts: [0] }, 'inboundPorts[0]', /1-65535/],
    [{ inboundPorts: [80, 80] }, 'inboundPorts[1]', /listed twice/],
    [{ inboundPorts: [15001] }, 'inboundPorts[0]', /outboundPort/],
    [{ inboundPorts: undefined }, 'inboundPorts', /is required/],
    [{ inboundPorts: [], proxyUid: -1 }, 'proxyUid', /integer uid/],
    [{ inboundPorts: [], dnsPort: 15001 }, 'dnsPort', /already used by outboundPort/],
    [{ inboundPorts: [], excludeOutboundPorts: ['22'] }, 'excludeOutboundPorts[0]', /integer port/],
    [{ inboundPorts: [], interfaceName: 'eth0; reboot' }, 'interfaceName', /letters/],
  ];
  for (const [override, path, message] of cases) {
    assert.throws(
      () => captureRules({ ...istioPorts, ...override } as never),
      (err: Error & { code?: string; path?: string }) => {
        assert.equal(err.code, 'ERR_CAPTURE_OPTIONS');
        assert.equal(err.path, path);
        assert.match(err.message, message);
        return true;
      },
    );
  }
});

test('the filter table keeps non-TCP traffic in and guards the sidecar-only loopback ports', () => {
  const { ipv4 } = captureRules({ ...istioPorts, inboundPorts: [9080], sidecarOnlyPorts: [15000] });
  assert.ok(ipv4.startsWith('*nat\n'), 'the nat table comes first');
  assert.equal(
    ipv4.slice(ipv4.indexOf('*filter')),
    [
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':SLUICE_LOOPBACK - [0:0]',
      ':SLUICE_EGRESS - [0:0]',
      '-A OUTPUT -o lo -j SLUICE_LOOPBACK',
      '-A OUTPUT ! -o lo -j SLUICE_EGRESS',
      '-A SLUICE_LOOPBACK -p tcp -m tcp --dport 15000 -m conntrack --ctstate NEW -m owner ! --uid-owner 1337 -j REJECT --reject-with tcp-reset',
      '-A SLUICE_EGRESS -m owner --uid-owner 1337 -j RETURN',
      '-A SLUICE_EGRESS -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j RETURN',
      '-A SLUICE_EGRESS -p tcp -j REJECT --reject-with tcp-reset',
      '-A SLUICE_EGRESS -j REJECT --reject-with icmp-port-unreachable',
      'COMMIT',
      '',
    ].join('\n'),
  );
});

test('without sidecar-only ports the loopback chain is empty; excluded outbound TCP ports may still leave', () => {
  const { ipv4, ipv6 } = captureRules({ ...istioPorts, inboundPorts: [], excludeOutboundPorts: [22] });
  assert.doesNotMatch(ipv4, /^-A SLUICE_LOOPBACK /m);
  const egress = ipv4.split('\n').filter((l) => l.startsWith('-A SLUICE_EGRESS '));
  assert.deepEqual(egress.slice(2, 3), ['-A SLUICE_EGRESS -p tcp -m tcp --dport 22 -j RETURN']);
  assert.match(ipv6, /^-A SLUICE_EGRESS -j REJECT --reject-with icmp6-port-unreachable$/m);
  assert.doesNotMatch(ipv4, /SLUICE_SINK/);
});

test('sidecar-only ports and the other uid show up in both families', () => {
  const { ipv4, ipv6 } = captureRules({
    ...istioPorts,
    proxyUid: 2000,
    inboundPorts: [],
    sidecarOnlyPorts: [15000, 15020],
  });
  for (const text of [ipv4, ipv6]) {
    assert.match(
      text,
      /^-A SLUICE_LOOPBACK -p tcp -m tcp --dport 15020 -m conntrack --ctstate NEW -m owner ! --uid-owner 2000 -j REJECT --reject-with tcp-reset$/m,
    );
    assert.match(text, /^-A SLUICE_EGRESS -m owner --uid-owner 2000 -j RETURN$/m);
  }
  assert.equal(ipv6.match(/^-A SLUICE_LOOPBACK /gm)?.length, 2);
});

test('a sidecar-only port may not be one the workload reaches through a redirect', () => {
  for (const [ports, path, clash] of [
    [[15000, 15001], 'sidecarOnlyPorts[1]', 'outboundPort'],
    [[15053], 'sidecarOnlyPorts[0]', 'dnsPort'],
    [[15000, 15000], 'sidecarOnlyPorts[1]', 'listed twice'],
  ] as const) {
    assert.throws(
      () => captureRules({ ...istioPorts, inboundPorts: [], sidecarOnlyPorts: ports }),
      (err: Error & { code?: string; path?: string }) =>
        err.code === 'ERR_CAPTURE_OPTIONS' && err.path === path && err.message.includes(clash),
    );
  }
});

test('with a sink interface, the sink chain refuses at once what would be discarded', () => {
  const { ipv4, ipv6 } = captureRules({ ...istioPorts, inboundPorts: [], sinkInterface: 'sink0' });
  const filter4 = ipv4.slice(ipv4.indexOf('*filter'));
  assert.equal(
    filter4,
    [
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':SLUICE_LOOPBACK - [0:0]',
      ':SLUICE_EGRESS - [0:0]',
      ':SLUICE_SINK - [0:0]',
      '-A OUTPUT -o lo -j SLUICE_LOOPBACK',
      '-A OUTPUT -o sink0 -j SLUICE_SINK',
      '-A OUTPUT ! -o lo -j SLUICE_EGRESS',
      '-A SLUICE_EGRESS -m owner --uid-owner 1337 -j RETURN',
      '-A SLUICE_EGRESS -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j RETURN',
      '-A SLUICE_EGRESS -p tcp -j REJECT --reject-with tcp-reset',
      '-A SLUICE_EGRESS -j REJECT --reject-with icmp-port-unreachable',
      '-A SLUICE_SINK -m conntrack --ctstate DNAT -j RETURN',
      '-A SLUICE_SINK -p tcp -j REJECT --reject-with tcp-reset',
      '-A SLUICE_SINK -j REJECT --reject-with icmp-port-unreachable',
      'COMMIT',
      '',
    ].join('\n'),
  );
  assert.match(ipv6, /^-A SLUICE_SINK -j REJECT --reject-with icmp6-port-unreachable$/m);
});
