import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AccessLog, type AccessLogEntry, type TcpLogClose, tcpEntry, tcpJsonLine } from './access-log.js';

const base: AccessLogEntry = {
  start_time: '2026-11-26T00:00:00.000Z',
  direction: 'outbound',
  response_flags: '-',
  bytes_received: 0,
  bytes_sent: 0,
  duration: 0,
  upstream_cluster: 'outbound|3306||mysql.example.com',
  upstream_host: null,
  downstream_local_address: '[2001:db8::1]:3306',
  downstream_remote_address: '10.0.0.7:41234',
  sni: null,
  requested_server_name: 'mysql.example.com',
  dns_name: 'mysql.example.com',
  route_name: 'quote"and\\backslash\u0001',
  rule: null,
  source_workload: 'ratings-v2',
  source_namespace: 'default',
  decision: 'route',
  reason: 'exact-ip',
};

const closes: TcpLogClose[] = [
  {
    response_flags: '-',
    upstream_cluster: 'outbound|3306||mysql.example.com',
    upstream_host: '192.0.2.10:3306',
    upstream_local_address: '192.0.2.1:50000',
    bytes_received: 1234,
    bytes_sent: 98765,
    duration: 12,
    response_code_details: undefined,
  },
  {
    response_flags: 'UH',
    upstream_cluster: 'BlackHoleCluster',
    upstream_host: null,
    upstream_local_address: null,
    bytes_received: 0,
    bytes_sent: 0,
    duration: 0,
    response_code_details: 'registry-only',
  },
  {
    response_flags: 'UF',
    upstream_cluster: 'c',
    upstream_host: 'h:1',
    upstream_local_address: null,
    bytes_received: 0,
    bytes_sent: 0,
    duration: 3,
    response_code_details: '',
  },
];

test('a TCP line written directly is byte for byte the JSON of the entry it stands for', () => {
  for (const close of closes) {
    const line = tcpJsonLine(base, close);
    assert.equal(line, JSON.stringify(tcpEntry(base, close)));
    assert.deepEqual(Object.keys(JSON.parse(line)), Object.keys(tcpEntry(base, close)));
  }
  assert.equal(JSON.parse(tcpJsonLine(base, closes[1]!)).response_code_details, 'registry-only');
  assert.equal('response_code_details' in JSON.parse(tcpJsonLine(base, closes[2]!)), false);
});

test('logTcp writes the same line as log(tcpEntry(...)) in both formats', () => {
  for (const format of ['json', 'text'] as const) {
    const viaEntry: string[] = [];
    const direct: string[] = [];
    new AccessLog(format, (l) => viaEntry.push(l)).log(tcpEntry(base, closes[0]!));
    new AccessLog(format, (l) => direct.push(l)).logTcp(base, closes[0]!);
    assert.deepEqual(direct, viaEntry);
  }
});
