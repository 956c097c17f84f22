import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { meterIds } from '../../src/adapters/meters/index.js'
import { renderSummary } from '../../src/cli/render-summary.js'
import { MeterListSchema, mergeSelectors } from '../../src/core/config/meter-list.js'
import type { MeterSpec } from '../../src/core/config/meters-schema.js'
import type { RunSummary } from '../../src/core/summary.js'
import { startMockServer, type MockServer } from '../../src/engines/mock/index.js'
import { runCli } from '../../testkit/cli.js'
import { makeTestCert, sawtooth, startFakeRedfish, wallMs, type FakeRedfish, type TestCert } from './redfish-fake.js'

/** Lists of BMCs, PDUs and Prometheus nodes in one meter entry: one meter per target, labelled (issue 11). */
const parse = (list: unknown[]): MeterSpec[] => MeterListSchema.parse(list)

test('a Redfish list becomes one meter per BMC, its node its host name unless named; a PDU list is equipment of its own', () => {
  const bmcs = parse([{ kind: 'redfish', user: 'root', targets: [{ url: 'https://10.0.0.5' }, { url: 'https://bmc-2.lab:8443', node: 'gpu-02', rack: 'r7' }] }])
  assert.equal(bmcs.length, 2)
  assert.deepEqual(
    bmcs.map((m) => m.kind === 'redfish' && [m.id, m.url, m.node, m.rack ?? null, m.group ?? null, m.user, 'targets' in m]),
    [
      ['redfish-10.0.0.5', 'https://10.0.0.5', '10.0.0.5', null, null, 'root', false],
      ['redfish-gpu-02', 'https://bmc-2.lab:8443', 'gpu-02', 'r7', null, 'root', false],
    ],
  )
  assert.deepEqual(meterIds(bmcs), ['redfish-10.0.0.5', 'redfish-gpu-02'])
  const pdus = parse([{ kind: 'redfish', source: 'rack-pdu', rack: 'r1', targets: [{ url: 'https://pdu-a' }, { url: 'https://pdu-b', outlets: ['3'] }] }])
  assert.deepEqual(pdus.map((m) => [m.node ?? null, m.rack, m.group, m.kind === 'redfish' ? (m.outlets ?? null) : null]), [[null, 'r1', 'redfish:pdu-a', null], [null, 'r1', 'redfish:pdu-b', ['3']]])

  const snmp = parse([{ kind: 'snmp', vendor: 'raritan', targets: [{ host: 'pdu-a', outlets: [1, 2] }, { host: 'pdu-b', port: 1161, outlets: [5], node: 'gpu-03' }] }])
  assert.deepEqual(snmp.map((m) => m.kind === 'snmp' && [m.id, m.host, m.port, m.outlets, m.node ?? null, m.group ?? null]), [
    ['snmp-pdu-a', 'pdu-a', 161, [1, 2], null, 'snmp:pdu-a'],
    ['snmp-gpu-03', 'pdu-b', 1161, [5], 'gpu-03', null],
  ])
})

test('a Prometheus node list narrows the selector to each node\'s series, with the preset\'s node label', () => {
  const dcgm = parse([{ kind: 'prometheus', url: 'http://prom:9090', selector: '{job="dcgm"}', nodes: ['gpu-01', 'gpu-02'] }])
  assert.deepEqual(dcgm.map((m) => m.kind === 'prometheus' && [m.id, m.node, m.selector]), [
    ['prometheus-gpu-01', 'gpu-01', '{job="dcgm",Hostname="gpu-01"}'],
    ['prometheus-gpu-02', 'gpu-02', '{job="dcgm",Hostname="gpu-02"}'],
  ])
  const kepler = parse([{ kind: 'prometheus', id: 'kepler', url: 'http://prom:9090', preset: 'kepler', nodes: ['n1'] }])
  assert.deepEqual(kepler.map((m) => m.kind === 'prometheus' && [m.id, m.selector]), [['kepler-n1', '{node_name="n1"}']])
  const own = parse([{ kind: 'prometheus', url: 'http://prom:9090', preset: 'dcgm', nodeLabel: 'hostname', nodes: ['a'] }])
  assert.equal(own[0]?.kind === 'prometheus' && own[0].selector, '{hostname="a"}')
  assert.equal(mergeSelectors(undefined, '{a="1"}'), '{a="1"}')
  assert.equal(mergeSelectors('{ }', '{a="1"}'), '{a="1"}')
})

test('list forms refuse what cannot be one meter per target', () => {
  const issues = (list: unknown[]): string[] => {
    const r = MeterListSchema.safeParse(list)
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
  }
  assert.match(issues([{ kind: 'redfish', url: 'https://a', targets: [{ url: 'https://b' }] }]).join('\n'), /0\.url: give url \(one service\) or targets/)
  assert.match(issues([{ kind: 'redfish' }]).join('\n'), /give url .* or targets/)
  assert.match(issues([{ kind: 'snmp', vendor: 'apc' }]).join('\n'), /0\.host: give host \(one PDU\) or targets/)
  assert.match(issues([{ kind: 'prometheus', url: 'http://p:9090', preset: 'custom', power: { query: 'w', unit: 'W' }, nodes: ['a'] }]).join('\n'), /0\.nodeLabel: nodes with preset custom needs nodeLabel/)
  assert.match(issues([{ kind: 'redfish', targets: [] }]).join('\n'), /targets/)
  // two targets on one host, no names: the ids collide, and that is said before any request
  assert.throws(() => meterIds(parse([{ kind: 'snmp', vendor: 'apc', targets: [{ host: 'pdu-a' }, { host: 'pdu-a', port: 1161 }] }])), /two meters have the id "snmp-pdu-a"/)
})

// ---------------------------------------------------------------- end to end over HTTPS

const USER = 'admin'
const PASSWORD = 'c0rrect-h0rse'
let cert: TestCert
let bmcs: FakeRedfish[] = []
let mock: MockServer
before(async () => {
  cert = makeTestCert()
  const trace = sawtooth(wallMs())
  bmcs = await Promise.all([0, 1].map(() => startFakeRedfish({ cert, shape: 'acd', user: USER, password: PASSWORD, trace, energyOffsetJ: 5e9 })))
  mock = await startMockServer({ port: 0, ttftMs: 15, itlMs: 3 })
})
after(async () => {
  await mock.close()
  for (const b of bmcs) await b.close()
  cert.cleanup()
})

test('bench with two BMCs in one list: energy per node, the node boundary their sum, every node covered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-meter-list-'))
  const [a, b] = bmcs as [FakeRedfish, FakeRedfish]
  writeFileSync(
    join(dir, 'bench.yaml'),
    [
      `target: { endpoint: "${mock.url}" }`,
      'load: { type: closed-loop, concurrency: 4 }',
      'stop: { durationS: 3 }',
      'boundary: node',
      'coverage: { expectNodes: 2 }',
      'meters:',
      '  - kind: redfish',
      `    user: ${USER}`,
      '    passwordEnv: TW_TEST_BMC_PASSWORD',
      '    periodMs: 200',
      `    tls: { fingerprint256: "${cert.fingerprint256}" }`,
      '    targets:',
      `      - { url: "${a.url}", node: gpu-01, rack: r1 }`,
      `      - { url: "${b.url}", node: gpu-02, rack: r1 }`,
      '',
    ].join('\n'),
  )
  const r = await runCli(['bench', '-c', join(dir, 'bench.yaml'), '--tokenizer', 'estimate', '--no-progress', '--store', join(dir, 'db.sqlite'), '--out', join(dir, 'out'), '--json'], { cwd: dir, env: { TW_TEST_BMC_PASSWORD: PASSWORD } })
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as RunSummary
  const power = s.power
  assert.ok(power)
  assert.deepEqual(power.meters.map((m) => m.id), ['redfish-gpu-01', 'redfish-gpu-02'])
  const byNode = power.byNode ?? []
  assert.deepEqual(byNode.map((n) => [n.name, n.source, n.meters]), [['gpu-01', 'measured', ['redfish-gpu-01']], ['gpu-02', 'measured', ['redfish-gpu-02']]])
  // each node's figure is its own BMC's; the node boundary adds them once each
  for (const n of byNode) assert.equal(n.energyJ, power.meters.find((m) => m.id === n.meters[0])?.energyJ)
  const sum = byNode.reduce((x, n) => x + (n.energyJ ?? 0), 0)
  assert.ok(power.energyJ !== null && Math.abs(power.energyJ - sum) < 1e-6 * sum, `node boundary ${power.energyJ} J vs the nodes' sum ${sum} J`)
  assert.equal(power.byRack, undefined, 'one rack: nothing to break down')
  assert.deepEqual((power.coverageCheck as { verdict: string; nodes: string[] }).nodes, ['gpu-01', 'gpu-02'])
  assert.equal((power.coverageCheck as { verdict: string }).verdict, 'valid')
  assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD))
  // the report's table and the terminal's line say the same per node
  const html = readFileSync(join(dir, 'out', s.id, 'report.html'), 'utf8')
  assert.match(html, /Energy by node[\s\S]*gpu-01[\s\S]*gpu-02/)
  const shown = await runCli(['report', s.id, '--format', 'md', '--store', join(dir, 'db.sqlite')], { cwd: dir })
  assert.match(shown.stdout, /Energy by node/)
  assert.match(renderSummary(s), /power by node +│? *gpu-01 [\d.]+ W, gpu-02 [\d.]+ W/)
})
