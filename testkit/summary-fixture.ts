/**
 * A complete, plausible `tokenwatt.run/v1` summary for tests of code that reads summaries (economics,
 * reports, compare, verify, plan). Numbers are round so expected values can be worked out by hand.
 */
import type { RunSummary, Stats } from '../src/core/summary.js'

export const stats = (p50: number, extra: Partial<Stats> = {}): Stats => ({
  count: 1000,
  mean: p50,
  p50,
  p90: p50 * 1.5,
  p95: p50 * 1.7,
  p99: p50 * 2,
  max: p50 * 3,
  min: p50 / 2,
  stddev: p50 / 4,
  ...extra,
})

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** A 600 s closed-loop run at 1,000 output tok/s and 3,000 total tok/s, 1,000 W average at `node`. */
export function fixtureSummary(overrides: Partial<Mutable<RunSummary>> = {}): RunSummary {
  const base: RunSummary = {
    schema: 'tokenwatt.run/v1',
    id: 'run-fixture-0001',
    startedAt: '2026-11-30T10:00:00.000Z',
    endedAt: '2026-11-30T10:10:30.000Z',
    status: 'complete',
    tool: { name: 'tokenwatt', version: '0.1.0' },
    target: { endpoint: 'http://127.0.0.1:8000/v1', api: 'chat', model: 'llama-3.1-8b', server: 'vLLM 0.11.1' },
    workload: { input: { type: 'fixed', value: 256 }, output: { type: 'fixed', value: 128 } },
    config: { load: { type: 'closed-loop', concurrency: 64 } },
    window: { startS: 15, endS: 615, durationS: 600, method: 'inflight-plateau+mser5' },
    requests: { total: 5000, succeeded: 4990, failed: 10, warmup: 0, inWindow: 4700, errorsByKind: { http_status: 10 }, missingUsage: 0, droppedArrivals: 0 },
    tokens: { input: 1_200_000, output: 600_000, source: 'server-usage', inputPerRequest: stats(256), outputPerRequest: stats(128), targetInputMean: 256, targetOutputMean: 128 },
    throughput: { outputTokensPerS: 1000, totalTokensPerS: 3000, requestsPerS: 7.8 },
    latency: { ttftMs: stats(120), itlMs: stats(25), tpotMs: stats(25), e2eMs: stats(3300), interactivityTokPerS: stats(40) },
    slo: { ttftMs: 500, tpotMs: 50, attainment: 0.9, goodputRequestsPerS: 7.0, goodOutputTokensPerS: 900, passed: true },
    load: { type: 'closed-loop', concurrency: 64, rate: null, scheduleLagMs: stats(0.1), meanInFlight: 63.8 },
    client: { connectionsOpened: 64, connectionsOpenedInWindow: 0, connectMs: stats(0.4), cpuUtilization: 0.2, eventLoopDelayP99Ms: 3, limitedByClient: false },
    power: {
      boundary: 'node',
      avgW: 1000,
      energyJ: 600_000,
      coverage: 1,
      interval: { low: 588_000, high: 612_000 },
      measured: ['ipmi'],
      modeled: [],
      meters: [],
      levels: [{ boundary: 'node', source: 'measured', avgW: 1000, energyJ: 600_000, interval: { low: 588_000, high: 612_000 }, assumptions: [] }],
      idleW: 400,
    },
    efficiency: {
      boundary: 'node',
      outputTokensPerJoule: 1,
      totalTokensPerJoule: 3,
      joulesPerOutputToken: 1,
      joulesPerToken: 1 / 3,
      outputTokensPerSPerMW: 1e6,
      outputTokensPerSPerProvisionedMW: null,
      interval: { low: 0.98, high: 1.02 },
      measured: ['ipmi'],
      modeled: [],
    },
    cost: null,
    warnings: [],
  }
  return { ...base, ...overrides }
}
