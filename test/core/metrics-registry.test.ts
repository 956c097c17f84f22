import assert from 'node:assert/strict'
import { test } from 'node:test'
import { analyzeRun } from '../../src/core/analysis/analyze-run.js'
import { BenchConfigSchema } from '../../src/core/config/bench-schema.js'
import { BUILTIN_METRICS } from '../../src/core/metrics/builtin.js'
import { defineMetric } from '../../src/core/metrics/define-metric.js'
import { createMetricRegistry, readPath } from '../../src/core/metrics/registry.js'
import { closedLoopRun } from '../../testkit/records.js'

test('the shipped registry is valid: unique snake_case ids, known dependencies, no cycles', () => {
  const { problems } = createMetricRegistry(BUILTIN_METRICS)
  assert.deepEqual(problems, [])
})

test('the registry reports duplicates, unknown dependencies and cycles instead of throwing', () => {
  const m = (id: string, requires: string[] = []) =>
    defineMetric({ id, title: id, kind: 'aggregate', unit: '1', better: 'none', summaryPath: 'x', requires, doc: { summary: '', formula: '' } })
  const { problems } = createMetricRegistry([m('a'), m('a', ['b']), m('b', ['a']), m('c', ['zzz']), m('Bad-Id')])
  const text = problems.map((p) => `${p.id}: ${p.problem}`).join('\n')
  assert.match(text, /a: duplicate id/)
  assert.match(text, /c: requires unknown metric zzz/)
  assert.match(text, /dependency cycle/)
  assert.match(text, /Bad-Id: id must be snake_case/)
})

test('every registered metric points at a path that exists in a real summary', () => {
  const rs = closedLoopRun({ users: 2, perUser: 20, ttftMs: 5, itlMs: 2, tokens: 8 })
  const summary = analyzeRun({
    id: 'r',
    startedAt: '',
    endedAt: '',
    status: 'complete',
    toolVersion: '0',
    config: BenchConfigSchema.parse({ stop: { requests: 40 }, load: { type: 'closed-loop', concurrency: 2 }, slo: { ttftMs: 100 } }),
    target: { endpoint: '', api: 'chat', model: '', server: null },
    workload: {},
    records: rs,
    powerSamples: [],
    meters: [],
    idleWindowNs: null,
    connections: { opened: 2, connectMs: [1, 1], connectErrors: 0 },
    droppedArrivals: 0,
    clientMonitor: null,
    warnings: [],
  })
  // monitor.* figures exist only in monitor sessions; test/monitor/monitor-core.test.ts checks them there.
  for (const m of BUILTIN_METRICS.filter((d) => !d.summaryPath.startsWith('monitor.'))) {
    // Energy and cost figures are null without meters/cost config, but their sections must exist.
    const v = readPath(summary, m.summaryPath)
    const segments = m.summaryPath.split('.')
    const nullAncestor = segments.slice(1).some((_, i) => readPath(summary, segments.slice(0, i + 1).join('.')) === null)
    assert.ok(v !== undefined || nullAncestor, `${m.id} -> ${m.summaryPath} is missing from the summary`)
  }
})
