import assert from 'node:assert/strict'
import { test } from 'node:test'
import { BenchConfigSchema } from '../../src/core/config/bench-schema.js'
import type { PointFigures } from '../../src/core/sweep/objective.js'
import { pointFigures, scorePoint } from '../../src/core/sweep/objective.js'
import { fillServerTemplate, pointConfig } from '../../src/core/sweep/point-config.js'
import { baselineKnobs, choosePoint, combineRepeats, paretoFrontier, savingsAgainst, type SweepPoint } from '../../src/core/sweep/sweep-result.js'
import { fixtureSummary } from '../../testkit/summary-fixture.js'

const figures = (j: number, interactivity: number, perMW: number): PointFigures => ({
  joulesPerGoodToken: j, usdPerMillionGoodTokens: null, goodTokensPerSPerMW: perMW, goodOutputTokensPerS: 100, outputTokensPerS: 100, avgPowerW: 100 * j,
  interactivityTokPerS: interactivity, sloAttainment: 1, sloPassed: true, ttftP99Ms: 80, tpotP99Ms: 20, sloViolation: 0, valid: true,
})
const point = (key: string, j: number, half: number, x = 50, y = 1e6 / j, feasible = true): SweepPoint => ({
  key, knobs: Object.fromEntries(key.split(',').map((kv) => kv.split('=')).map(([k, v]) => [k as string, Number(v)])), runIds: [`run-${key}`], repeats: [figures(j, x, y)],
  objective: { value: j, interval: { low: j - half, high: j + half } }, score: { cost: feasible ? j : Number.POSITIVE_INFINITY, feasible, violation: feasible ? 0 : 0.2 }, hardware: {}, throttledForPowerS: null, settleS: null,
})

test('the chosen point is the best feasible one; overlapping intervals make it within noise, with SLO margins', () => {
  const pts = [point('cap=300', 0.8, 0.01, 40, 1, false), point('cap=400', 0.9, 0.02), point('cap=500', 0.93, 0.02), point('cap=700', 1.1, 0.02)]
  const c = choosePoint(pts, { ttftMs: 100, tpotMs: 25 })
  assert.equal(c?.key, 'cap=400', 'the infeasible 300 W point is never chosen')
  assert.equal(c?.confidence, 'within-noise')
  assert.deepEqual(c?.tiedWith, ['cap=500'])
  assert.deepEqual(c?.sloMargins, { ttftMs: 0.2, tpotMs: 0.2 })
  const clear = choosePoint([point('cap=400', 0.9, 0.005), point('cap=500', 0.93, 0.005)], {})
  assert.equal(clear?.confidence, 'distinct')
  assert.equal(choosePoint([point('cap=300', 0.8, 0.01, 40, 1, false)], {}), null)
})

test('savings carry the interval of both points; baselines keep load knobs when hardware is swept', () => {
  const s = savingsAgainst(point('cap=700', 1.0, 0.02), point('cap=400', 0.8, 0.02), 'joules-per-good-token')
  assert.ok(Math.abs((s?.joulesPerGoodToken.changeRel ?? 0) + 0.2) < 1e-12)
  assert.ok(Math.abs((s?.joulesPerGoodToken.interval?.low ?? 0) - (0.78 / 1.02 - 1)) < 1e-12)
  assert.ok(Math.abs((s?.joulesPerGoodToken.interval?.high ?? 0) - (0.82 / 0.98 - 1)) < 1e-12)
  assert.deepEqual(baselineKnobs({ concurrency: 16, 'gpu.power-limit-w': 400 }, { 'gpu.power-limit-w': 700 }, { concurrency: 1 }), { concurrency: 16, 'gpu.power-limit-w': 700 })
  assert.deepEqual(baselineKnobs({ concurrency: 16 }, {}, { concurrency: 1 }), { concurrency: 1 })
})

test('repeats: mean and an interval spanning every repeat and its energy interval; maximised objectives invert', () => {
  const r = combineRepeats([1, 1.2], [{ low: 0.95, high: 1.05 }, null], 'joules-per-good-token')
  assert.ok(Math.abs((r.value ?? 0) - 1.1) < 1e-12)
  assert.deepEqual(r.interval, { low: 0.95, high: 1.2 })
  const m = combineRepeats([100], [{ low: 0.9, high: 1.1 }], 'good-tokens-per-s-per-mw')
  assert.ok(Math.abs((m.interval?.low ?? 0) - 100 / 1.1) < 1e-9 && Math.abs((m.interval?.high ?? 0) - 100 / 0.9) < 1e-9)
  assert.deepEqual(scorePoint([5e5], [0], true, 'good-tokens-per-s-per-mw'), { cost: -5e5, feasible: true, violation: 0 })
  assert.deepEqual(scorePoint([null], [0.3], true, 'joules-per-good-token'), { cost: Number.POSITIVE_INFINITY, feasible: false, violation: 0.3 })
})

test('the Pareto frontier keeps the points no other beats on both axes', () => {
  const pts = [point('c=1', 1, 0, 90, 2e5), point('c=4', 1, 0, 60, 5e5), point('c=8', 1, 0, 40, 4e5), point('c=16', 1, 0, 20, 8e5)]
  assert.deepEqual(paretoFrontier(pts), ['c=16', 'c=4', 'c=1'])
})

test('point configs apply load, engine and workload knobs, label the run and validate', () => {
  const base = BenchConfigSchema.parse({ stop: { requests: 10 }, load: { type: 'gamma', rate: 2, burstiness: 0.5 } })
  const c = pointConfig(base, { rate: 8, 'engine.parallel': 4, 'engine.batch-size': 256, 'workload.output': 64, 'gpu.power-limit-w': 400 }, { sweep: 'sweep-x' })
  assert.deepEqual(c.load, { type: 'gamma', rate: 8, burstiness: 0.5, maxConcurrency: 10_000 })
  assert.equal(c.local.parallel, 4)
  assert.equal(c.local.batchSize, 256)
  assert.deepEqual(c.workload.output, { type: 'fixed', value: 64 })
  assert.equal(c.labels['knob.gpu.power-limit-w'], '400')
  assert.equal(c.labels.sweep, 'sweep-x')
  assert.throws(() => pointConfig(base, { concurrency: 0 }, {}), /sweep point concurrency=0: load.concurrency/)
  assert.equal(fillServerTemplate('vllm serve m --max-num-seqs {max_num_seqs}', { 'server.max_num_seqs': 64 }), 'vllm serve m --max-num-seqs 64')
  assert.throws(() => fillServerTemplate('x {port}', {}), /\{port\} has no knob server.port/)
})

test('a run summary becomes the figures a sweep ranks', () => {
  const f = pointFigures(fixtureSummary())
  assert.equal(typeof f.outputTokensPerS, 'number')
  assert.equal(f.valid, true)
})
