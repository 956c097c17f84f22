import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { RunSummary } from '../../src/core/summary.js'
import { startMockServer, type MockServer } from '../../src/engines/mock/index.js'
import { runCli } from '../../testkit/cli.js'
import { prometheusBinary, startFakeExporter, startRealPrometheus, type FakeExporter, type PrometheusServer } from './prometheus-fake.js'
import { sawtooth, wallMs } from './redfish-fake.js'

/**
 * `nodes:` on a Prometheus meter (issue 11, the cluster boundary): a real Prometheus scrapes a DCGM
 * exporter on each of two nodes (the same GPU UUIDs on both, as two identical servers have), and one
 * meter entry becomes a meter per node, each narrowed to its node's series by the Hostname label.
 */
const BINARY = prometheusBinary()
const SKIP = BINARY === null ? 'SKIPPED: the `prometheus` binary is not on PATH — install the Debian package: apt-get install -y prometheus' : false
if (SKIP) process.stderr.write(`\n*** test/meters/prometheus-nodes.test.ts ${SKIP} ***\n\n`)

let exporters: FakeExporter[] = []
let prom: PrometheusServer
let mock: MockServer
before(async () => {
  if (BINARY === null) return
  const originMs = wallMs()
  const trace = sawtooth(originMs)
  exporters = await Promise.all(['gpu-node-01', 'gpu-node-02'].map((h, i) => startFakeExporter(trace, originMs, 1e9 * (i + 1), h)))
  prom = await startRealPrometheus(BINARY, { 'dcgm-a': `127.0.0.1:${exporters[0]?.port}`, 'dcgm-b': `127.0.0.1:${exporters[1]?.port}` })
  mock = await startMockServer({ port: 0, ttftMs: 15, itlMs: 3 })
})
after(async () => {
  await mock?.close()
  await prom?.close()
  for (const e of exporters) await e.close()
})

function config(dir: string, nodes: string[]): string {
  const path = join(dir, `bench-${nodes.join('-')}.yaml`)
  writeFileSync(
    path,
    [
      `target: { endpoint: "${mock.url}" }`,
      'load: { type: closed-loop, concurrency: 4 }',
      'stop: { durationS: 3 }',
      'boundary: node',
      'coverage: { expectNodes: 2, expectDevices: 4 }',
      'meters:',
      `  - { kind: prometheus, preset: dcgm, url: "${prom.url}", periodMs: 500, settleMaxMs: 3000, nodes: [${nodes.join(', ')}] }`,
      '',
    ].join('\n'),
  )
  return path
}

test('one Prometheus entry with two nodes: a meter per node, each node\'s GPUs apart, energy per node, every node and GPU covered', { skip: SKIP }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-prom-nodes-'))
  const r = await runCli(['bench', '-c', config(dir, ['gpu-node-01', 'gpu-node-02']), '--tokenizer', 'estimate', '--no-progress', '--store', join(dir, 'db.sqlite'), '--out', join(dir, 'out'), '--json'], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as RunSummary
  const power = s.power
  assert.ok(power)
  assert.deepEqual(power.meters.map((m) => m.id), ['prometheus-gpu-node-01', 'prometheus-gpu-node-02'])
  const [a, b] = power.meters.map((m) => m.energyJ as number)
  assert.ok(a !== undefined && b !== undefined && a > 0 && b > 0)
  // the two nodes run one power trace: their GPU energies agree, each node's series read once
  assert.ok(Math.abs(a - b) / a < 0.05, `node energies ${a} J and ${b} J`)
  // the same UUIDs on two nodes are four GPUs, not two read twice
  const device = power.levels.find((l) => l.boundary === 'device')
  assert.ok(device?.energyJ !== null && device?.energyJ !== undefined && Math.abs(device.energyJ - (a + b)) < 1e-6 * (a + b), `device level ${device?.energyJ} J vs ${a + b} J`)
  const byNode = power.byNode ?? []
  assert.deepEqual(byNode.map((n) => [n.name, n.source, n.meters]), [['gpu-node-01', 'modeled', ['prometheus-gpu-node-01']], ['gpu-node-02', 'modeled', ['prometheus-gpu-node-02']]])
  const nodeSum = byNode.reduce((x, n) => x + (n.energyJ ?? 0), 0)
  assert.ok(power.energyJ !== null && Math.abs(power.energyJ - nodeSum) < 1e-6 * nodeSum, `node boundary ${power.energyJ} J vs the nodes' sum ${nodeSum} J`)
  const cov = power.coverageCheck as { verdict: string; nodes: string[]; devices: number }
  assert.deepEqual([cov.verdict, cov.nodes, cov.devices], ['valid', ['gpu-node-01', 'gpu-node-02'], 4])
  assert.match(r.stdout, /"byNode"/)
})

test('a node missing from Prometheus fails preflight with one line naming its selector', { skip: SKIP }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-prom-nodes-'))
  const r = await runCli(['bench', '-c', config(dir, ['gpu-node-01', 'gpu-node-09']), '--tokenizer', 'estimate', '--no-progress', '--store', join(dir, 'db.sqlite'), '--out', join(dir, 'out')], { cwd: dir })
  assert.equal(r.code, 4, r.stderr)
  assert.match(r.stderr, /Hostname="gpu-node-09"/)
  assert.equal(r.stderr.trim().split('\n').length, 2, r.stderr)
})
