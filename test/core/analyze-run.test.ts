import assert from 'node:assert/strict'
import { test } from 'node:test'
import { analyzeRun, type AnalysisInput } from '../../src/core/analysis/analyze-run.js'
import { BenchConfigSchema } from '../../src/core/config/bench-schema.js'
import type { RequestRecord } from '../../src/core/records.js'
import { closedLoopRun, record } from '../../testkit/records.js'

function input(records: RequestRecord[], cfg: Record<string, unknown> = {}): AnalysisInput {
  return {
    id: 'r1',
    startedAt: '2026-11-30T00:00:00.000Z',
    endedAt: '2026-11-30T00:01:00.000Z',
    status: 'complete',
    toolVersion: '0.0.0',
    config: BenchConfigSchema.parse({ stop: { requests: records.length }, ...cfg }),
    target: { endpoint: 'http://x/v1', api: 'chat', model: 'm', server: null },
    workload: {},
    records,
    powerSamples: [],
    meters: [],
    idleWindowNs: null,
    connections: { opened: 1, connectMs: [0.5], connectedAtNs: [-1], connectErrors: 0 },
    droppedArrivals: 0,
    clientMonitor: { cpuUtilization: 0.1, eventLoopDelayP99Ms: 1 },
    warnings: [],
  }
}

test('TTFT, TPOT, ITL and E2E follow the definitions exactly', () => {
  // One user, 12 identical requests: TTFT 50 ms, 11 tokens 10 ms apart, end 5 ms after the last chunk.
  const rs: RequestRecord[] = []
  let t = 0
  for (let i = 0; i < 12; i++) {
    const chunks = Array.from({ length: 11 }, (_, k) => t + 50 + k * 10)
    const end = (chunks[10] as number) + 5
    rs.push(record({ seq: i, sentMs: t, chunksMs: chunks, endMs: end }))
    t = end
  }
  const s = analyzeRun(input(rs))
  assert.equal(s.latency.ttftMs.p50, 50)
  assert.equal(s.latency.itlMs.p50, 10)
  assert.equal(s.latency.itlMs.max, 10)
  // TPOT = (e2e - ttft) / (n - 1) = (155 - 50) / 10
  assert.ok(Math.abs((s.latency.tpotMs.mean as number) - 10.5) < 1e-9)
  assert.equal(s.latency.e2eMs.p99, 155)
  assert.ok(Math.abs((s.latency.interactivityTokPerS.mean as number) - 1000 / 10.5) < 1e-9)
  assert.equal(s.tokens.source, 'server-usage')
})

test('throughput counts tokens by arrival inside the window, not by request completion', () => {
  const rs = closedLoopRun({ users: 2, perUser: 40, ttftMs: 5, itlMs: 5, tokens: 10 })
  const s = analyzeRun(input(rs, { load: { type: 'closed-loop', concurrency: 2 } }))
  const w0 = s.window.startS * 1e9
  const w1 = s.window.endS * 1e9
  let expected = 0
  for (const r of rs) for (const c of r.chunkAtNs) if (c >= w0 && c <= w1) expected++
  assert.equal(s.tokens.output, expected)
  assert.ok(Math.abs(s.throughput.outputTokensPerS - expected / s.window.durationS) < 1e-6)
  // Two users each emitting one token per 5 ms (with a 5 ms TTFT gap per request of 10 tokens): ~364 tok/s.
  assert.ok(s.throughput.outputTokensPerS > 330 && s.throughput.outputTokensPerS < 410, String(s.throughput.outputTokensPerS))
})

test('server usage totals are spread over chunks that carried several tokens', () => {
  const rs = Array.from({ length: 10 }, (_, i) => record({ seq: i, sentMs: i * 100, chunksMs: [i * 100 + 10, i * 100 + 30, i * 100 + 50], outputTokens: 6 }))
  const s = analyzeRun(input(rs))
  // 3 chunks, 6 tokens: each gap of 20 ms brought 2 tokens → ITL 10 ms.
  assert.equal(s.latency.itlMs.p50, 10)
  // TPOT = (50 - 10) / (6 - 1) = 8 ms
  assert.equal(s.latency.tpotMs.p50, 8)
})

test('failures are counted by kind and SLO attainment includes them', () => {
  const ok = (i: number, ttft: number): RequestRecord => record({ seq: i, sentMs: i * 100, chunksMs: [i * 100 + ttft, i * 100 + ttft + 5] })
  const rs = [
    ok(0, 10),
    ok(1, 10),
    ok(2, 80),
    record({ seq: 3, sentMs: 300, chunksMs: [], endMs: 310, error: { kind: 'rate_limited', status: 429, message: 'slow down' }, outputTokens: null }),
    ok(4, 10),
    record({ seq: 5, sentMs: 500, chunksMs: [510], endMs: 520, error: { kind: 'stream_cut', message: 'closed' } }),
    ok(6, 10),
  ]
  const s = analyzeRun(input(rs, { slo: { ttftMs: 50 }, load: { type: 'poisson', rate: 10 } }))
  assert.equal(s.requests.failed, 2)
  assert.equal(s.requests.errorsByKind.rate_limited, 1)
  assert.equal(s.requests.errorsByKind.stream_cut, 1)
  assert.equal(s.requests.errorsByKind.connect, 0)
  assert.ok(s.slo.attainment !== null && s.slo.attainment < 1)
  assert.equal(s.slo.passed, false)
})

test('a client near its CPU limit is flagged in the result', () => {
  const rs = closedLoopRun({ users: 1, perUser: 20, ttftMs: 5, itlMs: 1, tokens: 5 })
  const s = analyzeRun({ ...input(rs), clientMonitor: { cpuUtilization: 0.97, eventLoopDelayP99Ms: 3 } })
  assert.equal(s.client.limitedByClient, true)
  assert.ok(s.warnings.some((w) => /load generator may have been the limit/.test(w)))
})
