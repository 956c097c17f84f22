import assert from 'node:assert/strict'
import { test } from 'node:test'
import { interTokenGapsNs } from '../../src/core/analysis/request-metrics.js'
import { CostSchema } from '../../src/core/config/cost-schema.js'
import { computeCost } from '../../src/core/economics/compute-cost.js'
import type { PowerSample, RequestRecord } from '../../src/core/records.js'
import { formatCount, formatNumber, formatUsd, formatWithUnit } from '../../src/core/report/format.js'
import { latencyCdfs } from '../../src/core/report/latency-cdf.js'
import { renderMarkdown } from '../../src/core/report/render-markdown.js'
import { buildReportModel } from '../../src/core/report/report-model.js'
import { loadSeries, niceBinS, powerSeries } from '../../src/core/report/time-series.js'
import { fixtureSummary } from '../../testkit/summary-fixture.js'
import { syntheticRun } from '../../testkit/synthetic-run.js'

const S = 1e9
const MS = 1e6

/** A request with readable times (seconds): sent, chunk arrivals, last byte. */
function req(seq: number, sentS: number, chunksS: readonly number[], lastS: number | null = chunksS.at(-1) ?? null, extra: Partial<RequestRecord> = {}): RequestRecord {
  return {
    seq,
    phase: 'measure',
    userId: 0,
    scheduledAtNs: null,
    sentAtNs: sentS * S,
    headersAtNs: sentS * S,
    chunkAtNs: chunksS.map((c) => c * S),
    chunkTokens: chunksS.map(() => 1),
    lastByteAtNs: lastS === null ? null : lastS * S,
    targetInputTokens: 10,
    targetOutputTokens: chunksS.length,
    inputTokens: 10,
    outputTokens: chunksS.length,
    tokenSource: 'server-usage',
    finishReason: 'length',
    error: null,
    ...extra,
  }
}

test('load series: tokens by chunk arrival and mean in-flight per bin', () => {
  const rs = [req(0, 0.5, [1.2, 1.4, 2.1], 2.5), req(1, 1.0, [1.5], 1.5)]
  const pts = loadSeries(rs, 1, 3 * S)
  assert.deepEqual(
    pts.map((p) => p.outputTokensPerS),
    [0, 3, 1],
  )
  // request 0 in flight 0.5–2.5 s: 0.5, 1, 0.5 of bins 0..2; request 1 in flight 1.0–1.5 s: 0.5 of bin 1
  assert.deepEqual(
    pts.map((p) => p.inFlight),
    [0.5, 1.5, 0.5],
  )
  assert.deepEqual(
    pts.map((p) => p.tS),
    [0, 1, 2],
  )
})

test('nice bin widths stay round and bounded', () => {
  assert.equal(niceBinS(600, 240), 5)
  assert.equal(niceBinS(60, 240), 0.25)
  assert.equal(niceBinS(10 * 3600, 240), 300)
})

test('power series: counter-only channels become power; channels add up; slow channels hold', () => {
  const samples: PowerSample[] = []
  for (let i = 0; i <= 10; i++) {
    // channel a reports only an energy counter rising 100 J per 0.5 s = 200 W
    samples.push({ meterId: 'gpu', channel: 'a', atNs: i * 0.5 * S, sourceTimeMs: null, powerW: null, energyJ: 1000 + i * 100 })
    samples.push({ meterId: 'gpu', channel: 'b', atNs: i * 0.5 * S, sourceTimeMs: null, powerW: 50, energyJ: null })
  }
  // a counter that steps back (wrap/reset) is skipped, not drawn as a spike
  samples.push({ meterId: 'gpu', channel: 'a', atNs: 5.2 * S, sourceTimeMs: null, powerW: null, energyJ: 3 })
  // a 2 s meter on 1 s bins holds its value between samples
  for (const t of [0, 2, 4]) samples.push({ meterId: 'bmc', channel: 'psu', atNs: t * S, sourceTimeMs: null, powerW: 500 + t, energyJ: null })
  const series = powerSeries(samples, [{ id: 'gpu', boundary: 'device', kind: 'nvml', measured: true }], 1, 5 * S)
  const gpu = series.find((s) => s.meterId === 'gpu')
  assert.ok(gpu)
  assert.equal(gpu.boundary, 'device')
  assert.equal(gpu.channels, 2)
  // a: 200 W from counter differences (first at 0.5 s), b: 50 W, in every bin
  for (const p of gpu.points) assert.equal(p.w, 250, `bin ${p.tS}`)
  const bmc = series.find((s) => s.meterId === 'bmc')
  assert.deepEqual(
    bmc?.points.map((p) => p.w),
    [500, 500, 502, 502, 504],
  )
  assert.equal(bmc?.boundary, 'unknown')
})

test('latency CDFs end at the maximum and ITL matches the per-chunk definition', () => {
  const rs = [req(0, 0, [0.1, 0.12, 0.15], 0.16), req(1, 1, [1.3, 1.31], 1.32), req(2, 2, [], 2.01, { error: { kind: 'http_status', status: 500, message: 'x' } })]
  const [ttft, tpot, itl, e2e] = latencyCdfs(rs, { startNs: 0, endNs: 10 * S })
  assert.equal(ttft?.count, 2)
  assert.deepEqual(ttft?.points.at(-1), { ms: 300, p: 1 })
  assert.ok(Math.abs((tpot?.points.at(-1)?.ms ?? 0) - 30) < 1e-9) // (160-100)/(3-1)
  assert.equal(e2e?.points.at(-1)?.ms, 320)
  const gaps: number[] = []
  for (const r of rs.slice(0, 2)) interTokenGapsNs(r, gaps)
  assert.equal(itl?.population, gaps.length)
  assert.deepEqual(itl?.points.map((p) => p.ms).at(-1), Math.max(...gaps) / MS)
  // outside the window: nothing
  assert.equal(latencyCdfs(rs, { startNs: 5 * S, endNs: 6 * S })[0]?.count, 0)
})

test('ITL sampling on a large run keeps every k-th gap exactly', () => {
  const run = syntheticRun({ requests: 3000, concurrency: 32, outputTokens: [80, 90] })
  const window = { startNs: 0, endNs: 1e15 }
  const itl = latencyCdfs(run.requests, window).find((c) => c.metric === 'itl')
  assert.ok(itl && itl.population > 200_000 && itl.count < itl.population)
  const all: number[] = []
  for (const r of run.requests) if (r.error === null) interTokenGapsNs(r, all)
  const stride = Math.ceil(all.length / 200_000)
  const sampled = all.filter((_, i) => i % stride === 0).map((g) => g / MS).sort((a, b) => a - b)
  assert.equal(itl.count, sampled.length)
  assert.equal(itl.points.at(-1)?.ms, sampled.at(-1))
  assert.equal(itl.points[0]?.ms, sampled[0])
})

test('formatting: significant digits, counts, money and n/a for unmeasured', () => {
  assert.equal(formatNumber(1234567), '1,234,567')
  assert.equal(formatNumber(0.0012345), '0.00123')
  assert.equal(formatNumber(null), 'n/a')
  assert.equal(formatCount(26128), '26,128')
  assert.equal(formatUsd(0.1150424), '$0.115')
  assert.equal(formatUsd(18.716), '$18.72')
  assert.equal(formatWithUnit(2.5e6, 'tok/s/MW'), '2.5 M tok/s/MW')
  assert.equal(formatWithUnit(null, 'W'), 'n/a')
})

test('every headline figure carries a unit, a source and (for power figures) a boundary', () => {
  const summary = fixtureSummary()
  const { cost, warnings } = computeCost(CostSchema.parse({ preset: 'h100', accelerators: 8 }), summary)
  const model = buildReportModel(summary, [], [], { cost, costWarnings: warnings })
  for (const f of model.headline) {
    assert.ok(f.unit && f.source, JSON.stringify(f))
    if (/joule|power|per_mw|provisioned|cost/.test(f.id)) assert.ok(f.boundary, `${f.id} has no boundary`)
  }
  assert.equal(model.headline[0]?.id, 'cost_per_million_output_tokens')
  assert.ok(model.tables.some((t) => t.id === 'cost-assumptions' && t.rows.some((r) => r[0] === 'usdPerAcceleratorHour' && /InferenceX/.test(r[3] ?? ''))))
  // an unmeasured run says n/a rather than 0
  const bare = buildReportModel(fixtureSummary({ power: null, efficiency: null }), [], [])
  const power = bare.headline.find((f) => f.id === 'average_power')
  assert.equal(power?.text, 'n/a')
  assert.equal(power?.source, 'no power meter')
  assert.equal(bare.cost, null)
})

test('the summary cost section is used when the run was priced at bench time', () => {
  const priced = computeCost(CostSchema.parse({ accelerators: 2, rent: { usdPerAcceleratorHour: 3 } }), fixtureSummary()).cost
  const model = buildReportModel(fixtureSummary({ cost: priced }), [], [])
  assert.equal(model.cost?.usdPerHour.rent, 6)
  assert.deepEqual(
    model.series.costByComponent.map((c) => c.component),
    ['rent'],
  )
})

test('markdown escapes hostile strings and keeps tables intact', () => {
  const hostile = '<script>alert(1)</script> | *x* [a](javascript:alert(1))\nnext'
  const summary = fixtureSummary({ target: { endpoint: 'http://h/v1', api: 'chat', model: hostile, server: hostile }, warnings: [hostile] })
  const md = renderMarkdown(buildReportModel(summary, [], []))
  assert.ok(!md.includes('<script>'), 'raw script tag in markdown')
  assert.ok(md.includes('&lt;script&gt;alert(1)&lt;/script&gt;'))
  assert.ok(md.includes('\\[a\\](javascript:alert(1))'), 'link syntax is escaped')
  for (const line of md.split('\n').filter((l) => l.startsWith('| model |'))) assert.equal(line.split(/(?<!\\)\|/).length, 4, line)
})
