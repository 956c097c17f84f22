import assert from 'node:assert/strict'
import { test } from 'node:test'
import { analyzeRun } from '../../src/core/analysis/analyze-run.js'
import { BenchConfigSchema } from '../../src/core/config/bench-schema.js'
import { CostSchema } from '../../src/core/config/cost-schema.js'
import { parseClaim, verifyClaim } from '../../src/core/compare/claim.js'
import { commonSlo, compareRuns } from '../../src/core/compare/compare-runs.js'
import { readMetric, resolveMetric } from '../../src/core/compare/metric-lookup.js'
import { evaluateSlo, quantileInterval, runEvidence, sloOf, throughputInterval } from '../../src/core/compare/run-evidence.js'
import { computeCost } from '../../src/core/economics/compute-cost.js'
import { ConfigError } from '../../src/core/errors.js'
import type { RequestRecord } from '../../src/core/records.js'
import type { RunSummary } from '../../src/core/summary.js'
import { closedLoopRun, record } from '../../testkit/records.js'
import { fixtureSummary } from '../../testkit/summary-fixture.js'
import { syntheticRun } from '../../testkit/synthetic-run.js'

function analyzed(records: RequestRecord[], slo: Record<string, number>, concurrency: number): RunSummary {
  return analyzeRun({
    id: `r-${concurrency}`,
    startedAt: '2026-11-30T00:00:00Z',
    endedAt: '2026-11-30T00:01:00Z',
    status: 'complete',
    toolVersion: '0',
    config: BenchConfigSchema.parse({ stop: { requests: records.length }, load: { type: 'closed-loop', concurrency }, slo }),
    target: { endpoint: 'http://x/v1', api: 'chat', model: 'm', server: null },
    workload: {},
    records,
    powerSamples: [],
    meters: [],
    idleWindowNs: null,
    connections: { opened: concurrency, connectMs: [], connectErrors: 0 },
    droppedArrivals: 0,
    clientMonitor: null,
    warnings: [],
  })
}

test('claims parse: metric ids, stat suffixes, SI and % values, conditions', () => {
  const c = parseClaim('output_tokens_per_s_per_mw >= 2.5e6 at interactivity >= 90')
  assert.equal(c.target.metric.def.id, 'output_tokens_per_s_per_mw')
  assert.equal(c.target.op, '>=')
  assert.equal(c.target.value, 2.5e6)
  assert.equal(c.conditions.length, 1)
  assert.equal(c.conditions[0]?.metric.def.id, 'interactivity')
  assert.equal(c.conditions[0]?.metric.stat, 'p50')
  const p = parseClaim('time_to_first_token_p99 <= 200 ms at output_token_throughput >= 2.5k and slo_attainment >= 99%')
  assert.equal(p.target.metric.stat, 'p99')
  assert.equal(p.target.value, 200)
  assert.deepEqual(
    p.conditions.map((x) => x.value),
    [2500, 0.99],
  )
  assert.equal(parseClaim('cost_per_million_output_tokens <= $0.20').target.value, 0.2)
  assert.equal(parseClaim('ttft_p90 < 1,500').target.metric.def.id, 'time_to_first_token')
  assert.throws(() => parseClaim('tokens_per_banana >= 3'), (e: unknown) => e instanceof ConfigError && /unknown metric/.test(e.message))
  assert.throws(() => parseClaim('output_token_throughput is big'), ConfigError)
  assert.throws(() => parseClaim('output_token_throughput_p99 >= 3'), ConfigError, 'a stat on a non-distribution is refused')
})

test('SLO re-judging reproduces the run analysis for the same bounds and tightens with stricter ones', () => {
  // 4 users × 30 requests; every 5th request of user 0 has a slow first token
  const rs = closedLoopRun({ users: 4, perUser: 30, ttftMs: 20, itlMs: 5, tokens: 10 }).map((r) =>
    r.userId === 0 && r.seq % 5 === 0 ? record({ seq: r.seq, userId: 0, sentMs: r.sentAtNs / 1e6, chunksMs: r.chunkAtNs.map((c) => c / 1e6 + 80) }) : r,
  )
  const s = analyzed(rs, { ttftMs: 50 }, 4)
  const same = evaluateSlo(s, rs, sloOf(s))
  assert.equal(same.attainment, s.slo.attainment)
  assert.equal(same.goodputRequestsPerS, s.slo.goodputRequestsPerS)
  assert.equal(same.goodOutputTokensPerS, s.slo.goodOutputTokensPerS)
  assert.ok((s.slo.attainment ?? 1) < 1)
  const strict = evaluateSlo(s, rs, { ttftMs: 10 })
  assert.equal(strict.attainment, 0)
  assert.equal(evaluateSlo(s, rs, {}).attainment, null)
})

test('quantile intervals bracket the percentile and narrow with more data', () => {
  const values = (n: number): Float64Array => Float64Array.from({ length: n }, (_, i) => i + 1)
  const small = quantileInterval(values(100), 0.99)
  const big = quantileInterval(values(10_000), 0.99)
  assert.ok(small && big)
  assert.ok(small.low <= 99 && small.high >= 99)
  assert.ok(big.low <= 9900 && big.high >= 9900)
  assert.ok((big.high - big.low) / 10_000 < (small.high - small.low) / 100)
})

test('throughput interval from batch means: narrow for a steady run', () => {
  const rs = closedLoopRun({ users: 8, perUser: 40, ttftMs: 10, itlMs: 2, tokens: 20 })
  const s = analyzed(rs, {}, 8)
  const i = throughputInterval(s, rs)
  assert.ok(i)
  assert.ok(i.low <= s.throughput.outputTokensPerS && s.throughput.outputTokensPerS <= i.high)
  assert.ok((i.high - i.low) / s.throughput.outputTokensPerS < 0.1, JSON.stringify(i))
})

test('verify judges the best run meeting the conditions; marginal vs clear; strict', () => {
  const slow = syntheticRun({ requests: 800, concurrency: 8, seed: 1 })
  const busy = syntheticRun({ requests: 800, concurrency: 64, seed: 2 })
  const runs = [runEvidence({ ...slow.summary, id: 'slow' }, slow.requests), runEvidence({ ...busy.summary, id: 'busy' }, busy.requests)]
  const tput = (id: string): number => runs.find((r) => r.summary.id === id)?.summary.throughput.outputTokensPerS ?? NaN
  assert.ok(tput('busy') > tput('slow'))
  // both meet the condition: the claim rests on the higher-throughput run
  const v = verifyClaim(parseClaim(`output_token_throughput >= ${Math.floor(tput('busy') * 0.5)} at time_to_first_token_p50 <= 10000`), runs)
  assert.equal(v.passed, true)
  assert.equal(v.runId, 'busy')
  assert.equal(v.confidence, 'clear')
  // a bound just under the measured value: passes, but its interval reaches past it
  const edge = verifyClaim(parseClaim(`output_token_throughput >= ${tput('busy') * 0.999}`), runs)
  assert.equal(edge.passed, true)
  assert.equal(edge.confidence, 'marginal')
  assert.equal(verifyClaim(parseClaim(`output_token_throughput >= ${tput('busy') * 0.999}`), runs, { strict: true }).passed, false)
  // well above: a clear fail
  const fail = verifyClaim(parseClaim(`output_token_throughput >= ${tput('busy') * 2}`), runs)
  assert.equal(fail.passed, false)
  assert.equal(fail.confidence, 'clear')
  // the condition excludes the busy run (its TTFT p50 is higher)
  const ttftBusy = busy.summary.latency.ttftMs.p50 as number
  const ttftSlow = slow.summary.latency.ttftMs.p50 as number
  assert.ok(ttftBusy > ttftSlow)
  const cond = verifyClaim(parseClaim(`output_token_throughput >= 1 at time_to_first_token_p50 <= ${(ttftBusy + ttftSlow) / 2}`), runs)
  assert.equal(cond.runId, 'slow')
  // nothing meets it
  const none = verifyClaim(parseClaim('output_token_throughput >= 1 at time_to_first_token_p50 <= 0.001'), runs)
  assert.equal(none.passed, false)
  assert.match(none.reason, /no run meets time_to_first_token_p50 <= 0.001/)
  // an unmeasured figure fails with a reason, never passes on null
  const unmeasured = verifyClaim(parseClaim('output_tokens_per_joule >= 1'), [runEvidence(fixtureSummary({ efficiency: null }), [])])
  assert.equal(unmeasured.passed, false)
  assert.match(unmeasured.reason, /not measured/)
})

test('energy and cost readings carry their boundary and interval', () => {
  const run = syntheticRun({ requests: 600, concurrency: 16 })
  const ev = runEvidence(run.summary, run.requests)
  const tpj = readMetric(resolveMetric('output_tokens_per_joule')!, ev)
  assert.equal(tpj.boundary, 'node')
  assert.ok(tpj.interval && tpj.interval.low < (tpj.value as number) && (tpj.value as number) < tpj.interval.high)
  const cost = computeCost(CostSchema.parse({ accelerators: 4, rent: { usdPerAcceleratorHour: 2 } }), run.summary).cost
  const c = readMetric(resolveMetric('cost_per_million_output_tokens')!, ev, { cost })
  assert.equal(c.value, cost.usdPerMillionOutputTokens)
  assert.equal(c.boundary, 'facility')
  assert.ok(c.interval && c.interval.low < (c.value as number))
})

test('compare: common SLO is the strictest bound; winners, margins and noise', () => {
  const a = fixtureSummary({ id: 'a', slo: { ttftMs: 500, tpotMs: 50, attainment: 0.9, goodputRequestsPerS: 1, goodOutputTokensPerS: 1, passed: true } })
  const b = fixtureSummary({ id: 'b', slo: { ttftMs: 200, attainment: 0.9, goodputRequestsPerS: 1, goodOutputTokensPerS: 1, passed: true } })
  assert.deepEqual(commonSlo([a, b], null).bounds, { ttftMs: 200, tpotMs: 50 })
  assert.deepEqual(commonSlo([a, b], { e2eMs: 900 }).bounds, { e2eMs: 900 })

  const slow = syntheticRun({ requests: 800, concurrency: 8, seed: 1 })
  const busy = syntheticRun({ requests: 800, concurrency: 64, seed: 2 })
  const c = compareRuns(
    [
      { summary: { ...slow.summary, id: 'slow' }, requests: slow.requests, cost: null },
      { summary: { ...busy.summary, id: 'busy' }, requests: busy.requests, cost: null },
    ],
    { slo: { ttftMs: 150 } },
  )
  assert.deepEqual(c.slo.bounds, { ttftMs: 150 })
  const row = (id: string) => c.rows.find((r) => r.metric.id === id)
  const tput = row('output_token_throughput')
  assert.equal(tput?.winner, 1)
  assert.equal(tput?.significant, true)
  const expected = busy.summary.throughput.outputTokensPerS / slow.summary.throughput.outputTokensPerS - 1
  assert.ok(Math.abs((tput?.margin ?? 0) - expected) < 1e-9)
  assert.equal(row('time_to_first_token_p50')?.winner, 0, 'lower latency wins')
  // attainment re-judged at the common 150 ms TTFT bound, not each run's own 400 ms
  const att = row('slo_attainment')
  assert.equal(att?.readings[1]?.value, evaluateSlo(busy.summary, busy.requests, { ttftMs: 150 }).attainment)
  assert.equal(row('average_power')?.winner, null)
})

test('compare refuses to crown a winner across different power boundaries', () => {
  const one = syntheticRun({ requests: 300, concurrency: 8, seed: 3 })
  const other = syntheticRun({ requests: 300, concurrency: 8, seed: 4 })
  const deviceOnly = { ...other.summary, id: 'dev', efficiency: { ...other.summary.efficiency!, boundary: 'device' as const }, power: { ...other.summary.power!, boundary: 'device' as const } }
  const c = compareRuns([
    { summary: one.summary, requests: one.requests, cost: null },
    { summary: deviceOnly, requests: other.requests, cost: null },
  ])
  const tpj = c.rows.find((r) => r.metric.id === 'output_tokens_per_joule')
  assert.equal(tpj?.winner, null)
  assert.match(tpj?.note ?? '', /different boundaries \(node, device\)/)
  assert.ok(c.warnings.some((w) => w.includes('different boundaries')))
})
