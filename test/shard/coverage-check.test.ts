import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { checkCoverage } from '../../src/core/analysis/energy/coverage-check.js'
import type { MeterInfo } from '../../src/core/ports.js'
import type { PowerSample } from '../../src/core/records.js'
import type { RunSummary } from '../../src/core/summary.js'
import { startMockServer } from '../../src/engines/mock/index.js'
import { runCli } from '../../testkit/cli.js'

const meter = (id: string, node: string | undefined, boundary: MeterInfo['boundary'] = 'device'): MeterInfo => ({
  id, kind: 'nvml', boundary, hasCounter: false, periodMs: 100, averagingWindowMs: 0, accuracyRel: 0.05, accuracyW: 0, estimated: false, description: id, ...(node !== undefined ? { node } : {}),
})
/** Readings every `stepMs` from `fromMs` to `toMs` (inclusive) on one channel. */
const readings = (meterId: string, channel: string, fromMs: number, toMs: number, stepMs = 100): PowerSample[] =>
  Array.from({ length: Math.floor((toMs - fromMs) / stepMs) + 1 }, (_, i) => ({ meterId, channel, atNs: (fromMs + i * stepMs) * 1e6, sourceTimeMs: null, powerW: 300, energyJ: null }))
const window = { startNs: 1e9, endNs: 3e9 }

test('every expected node and device with readings across the window: valid', () => {
  const c = checkCoverage({
    meters: [meter('gpu-a', 'node-a'), meter('gpu-b', 'node-b')],
    samples: [...readings('gpu-a', 'GPU-0', 900, 3100), ...readings('gpu-a', 'GPU-1', 900, 3100), ...readings('gpu-b', 'GPU-0', 900, 3100)],
    window, expect: { expectNodes: 2, expectDevices: 3 }, defaultNode: 'host',
  })
  assert.deepEqual(c, { verdict: 'valid', expectNodes: 2, expectDevices: 3, nodes: ['node-a', 'node-b'], devices: 3, reasons: [] })
})

test('a node missing, a gap and an unbracketed window each make it invalid, each reason named', () => {
  const c = checkCoverage({
    meters: [meter('gpu-a', 'node-a'), meter('gpu-b', undefined), meter('gpu-c', 'node-c')],
    samples: [
      ...readings('gpu-a', 'GPU-0', 900, 1500), ...readings('gpu-a', 'GPU-0', 2200, 3100), // 0.7 s gap
      ...readings('gpu-b', 'GPU-0', 1500, 3100), // starts 0.5 s into the window
    ],
    window, expect: { expectNodes: 3, expectDevices: 3 }, defaultNode: 'host-1',
  })
  assert.equal(c.verdict, 'invalid')
  assert.deepEqual(c.nodes, ['host-1', 'node-a'])
  assert.deepEqual(c.reasons, [
    'gpu-a/GPU-0: a 0.70 s gap between readings, longer than the 0.30 s allowed',
    'gpu-b/GPU-0: the window is not bracketed by readings (first reading +0.50 s from its start, last +0.10 s from its end)',
    'meter gpu-c (node-c) has no readings',
    '2 of 3 expected nodes in the telemetry (host-1, node-a)',
    '2 of 3 expected devices in the telemetry',
  ])
})

test('bench --expect-nodes: a node short in the telemetry makes tokens per joule null and the run invalid (exit 6)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-coverage-'))
  const mock = await startMockServer({ port: 0, ttftMs: 5, itlMs: 1 })
  try {
    const cfg = join(dir, 'bench.yaml')
    writeFileSync(cfg, 'meters:\n  - { kind: mock, id: node-a-gpus, node: node-a, rack: r1 }\n  - { kind: mock, id: node-b-gpus, node: node-b, rack: r1 }\nboundary: device\n')
    const run = (n: string) => runCli(['bench', '-c', cfg, '--endpoint', mock.baseUrl, '--concurrency', '2', '--requests', '16', '--output-tokens', '8', '--tokenizer', 'estimate', '--expect-nodes', n, '--json', '--no-progress', '--store', join(dir, 'runs.db'), '--out', join(dir, 'out')], { cwd: dir })
    const ok = await run('2')
    assert.equal(ok.code, 0, ok.stderr)
    const good = JSON.parse(ok.stdout) as RunSummary
    assert.equal((good.power?.coverageCheck as { verdict: string }).verdict, 'valid')
    assert.ok(good.efficiency?.outputTokensPerJoule !== null)
    const short = await run('3')
    assert.equal(short.code, 6, short.stderr)
    const bad = JSON.parse(short.stdout) as RunSummary
    assert.equal(bad.efficiency, null)
    assert.equal(bad.validity?.verdict, 'invalid')
    assert.ok(bad.validity?.reasons.includes('power coverage: 2 of 3 expected nodes in the telemetry (node-a, node-b)'), JSON.stringify(bad.validity))
  } finally {
    await mock.close()
  }
})
