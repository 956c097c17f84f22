import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AlertTracker, parseAlertRule } from '../../src/core/monitor/alert-rule.js'
import { parseExposition } from '../../src/core/monitor/exposition.js'
import { histogramQuantile } from '../../src/core/monitor/histogram-quantile.js'
import { MonitorState, type TargetScrape } from '../../src/core/monitor/monitor-state.js'
import { resolveMapping } from '../../src/core/monitor/resolve-mapping.js'
import { windowTotals } from '../../src/core/monitor/rolling-window.js'
import { SERVER_PRESETS } from '../../src/core/monitor/server-presets.js'
import { ConfigError } from '../../src/core/errors.js'

// A vLLM /metrics body as prometheus_client 0.21 writes it: `le` first, then model_name.
const VLLM = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 3.0
# HELP vllm:generation_tokens_total Number of generation tokens processed.
# TYPE vllm:generation_tokens_total counter
vllm:generation_tokens_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1.5e+03
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_sum{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.7
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.1",model_name="meta-llama/Llama-3.1-8B-Instruct"} 3.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="meta-llama/Llama-3.1-8B-Instruct"} 5.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 5.0
`

test('exposition: families, suffixes, escapes, special values, timestamps, bad lines counted', () => {
  const p = parseExposition(`${VLLM}weird{path="a\\\\b",q="say \\"hi\\"\\n"} NaN 1700000000000\nx +Inf\nbroken{a="b" 1\nno_value\n`)
  assert.equal(p.errors.length, 2)
  const gen = p.samples.find((s) => s.name === 'vllm:generation_tokens_total')
  assert.equal(gen?.value, 1500)
  assert.equal(gen?.type, 'counter')
  const sum = p.samples.find((s) => s.name === 'vllm:time_to_first_token_seconds_sum')
  assert.equal(sum?.family, 'vllm:time_to_first_token_seconds')
  assert.equal(sum?.type, 'histogram')
  assert.deepEqual(sum?.labels, { engine: '0', model_name: 'meta-llama/Llama-3.1-8B-Instruct' }, 'the _sum of a labelled histogram keeps its labels')
  const w = p.samples.find((s) => s.name === 'weird')
  assert.deepEqual(w?.labels, { path: 'a\\b', q: 'say "hi"\n' })
  assert.ok(Number.isNaN(w?.value))
  assert.equal(w?.timestampMs, 1700000000000)
  assert.equal(p.samples.find((s) => s.name === 'x')?.value, Infinity)
})

test('histogram quantile: PromQL histogram_quantile semantics', () => {
  const b = new Map([[0.1, 10], [0.5, 60], [1, 100], [Infinity, 100]])
  assert.equal(histogramQuantile(0.1, b), 0.1)
  assert.ok(Math.abs((histogramQuantile(0.5, b) as number) - 0.42) < 1e-9)
  assert.equal(histogramQuantile(0.99, new Map([[1, 50], [Infinity, 100]])), 1, 'rank in +Inf: the highest finite bound')
  assert.equal(histogramQuantile(0.5, new Map([[Infinity, 0]])), null)
})

function scrape(target: string, gen: number | null, prompt = 0, running = 0): TargetScrape {
  if (gen === null) return { target, ok: false, error: 'ECONNREFUSED', samples: [], parseErrors: 0 }
  return {
    target,
    ok: true,
    error: null,
    parseErrors: 0,
    samples: [
      { name: 'vllm:generation_tokens_total', labels: { model_name: 'm' }, value: gen },
      { name: 'vllm:prompt_tokens_total', labels: { model_name: 'm' }, value: prompt },
      { name: 'vllm:num_requests_running', labels: { model_name: 'm' }, value: running },
    ],
  }
}

test('monitor state: increases over replicas, a reset counted from zero, a replica that disappears and returns', () => {
  const s = new MonitorState(SERVER_PRESETS.vllm)
  const S = 1e9
  // rounds:            a      b
  s.ingest(0 * S, [scrape('a', 1000, 50, 1), scrape('b', 500, 10, 1)]) // baseline: nothing counted
  s.ingest(1 * S, [scrape('a', 1100, 60, 2), scrape('b', 550, 20, 1)]) // +100 +50
  s.ingest(2 * S, [scrape('a', 30, 5, 1), scrape('b', null)]) // a restarted: +30; b down
  s.ingest(3 * S, [scrape('a', 80, 5, 0), scrape('b', 600, 30, 0)]) // +50; b back: +50 it counted meanwhile
  s.ingest(4 * S, [scrape('a', 80, 5, 0), scrape('b', 600, 30, 0)]) // idle round
  const ticks = s.allTicks()
  assert.deepEqual(ticks.map((t) => t.outputTokens), [0, 150, 30, 100, 0])
  assert.deepEqual(ticks.map((t) => t.resets), [0, 0, 2, 0, 0], 'both of a\'s counters reset')
  const a = s.targets().find((t) => t.target === 'a')
  const b = s.targets().find((t) => t.target === 'b')
  assert.equal(a?.counterResets, 2)
  assert.equal(b?.scrapeErrors, 1)
  assert.equal(b?.lastError, 'ECONNREFUSED')
  assert.equal(b?.outputTokens, 100)

  const all = windowTotals(ticks, null)
  assert.equal(all?.outputTokens, 280)
  assert.equal(all?.durationS, 4)
  assert.equal(all?.idleShare, 0.25, 'the last round generated nothing with nothing in flight')
  assert.equal(all?.degradedRounds, 1)
  const last2 = windowTotals(ticks, 2 * S)
  assert.equal(last2?.startNs, 2 * S)
  assert.equal(last2?.outputTokens, 100, 'rounds after the window start only')
})

test('histogram increases over a window give latency percentiles', () => {
  const s = new MonitorState(SERVER_PRESETS.vllm)
  const h = (le: string, v: number) => ({ name: 'vllm:time_to_first_token_seconds_bucket', labels: { le, model_name: 'm' }, value: v })
  const round = (a: number, b: number, inf: number): TargetScrape => ({ target: 'a', ok: true, error: null, parseErrors: 0, samples: [h('0.1', a), h('0.5', b), h('+Inf', inf)] })
  s.ingest(0, [round(100, 100, 100)])
  s.ingest(1e9, [round(110, 200, 200)]) // 10 ≤ 0.1 s, 90 in (0.1, 0.5]
  const w = windowTotals(s.allTicks(), null)
  assert.equal(w?.latency.ttft?.count, 100)
  assert.ok(Math.abs((w?.latency.ttft?.p50Ms as number) - (100 + (400 * 40) / 90)) < 1e-6)
})

test('alert rules: parse, pending, firing after the hold, resolve; bad rules are config errors', () => {
  const r = parseAlertRule('tokens_per_joule < 2 for 10m')
  assert.deepEqual({ figure: r.figure, op: r.op, threshold: r.threshold, forS: r.forS }, { figure: 'tokens_per_joule', op: '<', threshold: 2, forS: 600 })
  const t = new AlertTracker(r)
  assert.equal(t.evaluate(0, 1.5), 'pending')
  assert.equal(t.evaluate(599e9, 1.9), null)
  assert.equal(t.evaluate(600e9, 1.9), 'firing')
  assert.equal(t.evaluate(601e9, null), 'unknown')
  assert.equal(t.evaluate(602e9, 2.5), 'ok')
  assert.throws(() => parseAlertRule('tokens_per_watt < 2'), ConfigError)
  assert.throws(() => parseAlertRule('tokens_per_joule is low'), ConfigError)
})

test('mapping: presets, overrides and custom', () => {
  assert.equal(resolveMapping({ preset: 'tgi', mapping: {} }).outputTokens.metric, 'tgi_request_generated_tokens_sum')
  assert.equal(resolveMapping({ preset: 'llamacpp', mapping: {} }).inputTokens?.metric, 'llamacpp:prompt_tokens_total')
  const c = resolveMapping({ preset: 'custom', mapping: { outputTokens: 'my_tokens_total', running: 'my_running' } })
  assert.deepEqual([c.outputTokens.metric, c.inputTokens, c.running, c.ttft], ['my_tokens_total', null, 'my_running', null])
})

test('monitor metrics in the registry point at paths a monitor summary has', async () => {
  const { BUILTIN_METRICS } = await import('../../src/core/metrics/builtin.js')
  const { monitorSummary } = await import('../../src/core/monitor/monitor-summary.js')
  const { AttributionSchema } = await import('../../src/core/config/meters-schema.js')
  const s = new MonitorState(SERVER_PRESETS.vllm)
  s.ingest(0, [scrape('a', 0)])
  s.ingest(1e9, [scrape('a', 100)])
  const totals = windowTotals(s.allTicks(), null)
  assert.ok(totals)
  const summary = monitorSummary({
    id: 'm', startedAt: '', endedAt: '', status: 'complete', toolVersion: '0', config: { attribution: AttributionSchema.parse({}), boundary: undefined, cost: undefined },
    configForRecord: {}, endpoint: 'http://x/metrics', model: 'm', server: 'vLLM', totals, targets: s.targets(), samples: [], meters: [], epochWallMs: null,
    capacity: { runId: 'b', outputTokensPerS: 200 }, warnings: [],
  })
  assert.equal(summary.throughput.outputTokensPerS, 100)
  assert.equal(summary.monitor?.utilization, 0.5)
  for (const m of BUILTIN_METRICS.filter((d) => d.summaryPath.startsWith('monitor.'))) {
    const v = m.summaryPath.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], summary)
    assert.notEqual(v, undefined, `${m.id} -> ${m.summaryPath}`)
  }
})
