/**
 * Totals over a trailing window of monitor ticks. The window's edges are scrape rounds: tokens are
 * those counted in the rounds after its first tick up to its last, so the energy is taken over exactly
 * [first tick, last tick]. A window longer than the session so far covers the whole session.
 */
import { addBuckets, histogramQuantile } from './histogram-quantile.js'
import type { MonitorTick } from './monitor-state.js'
import { LATENCY_KINDS, type LatencyKind } from './server-presets.js'

export interface LatencyQuantiles {
  readonly count: number
  readonly p50Ms: number | null
  readonly p90Ms: number | null
  readonly p95Ms: number | null
  readonly p99Ms: number | null
}

export interface WindowTotals {
  readonly startNs: number
  readonly endNs: number
  readonly durationS: number
  readonly outputTokens: number
  readonly inputTokens: number
  /** Share of the window's time in rounds with no output tokens and nothing in flight. */
  readonly idleShare: number
  /** Time-weighted mean of the in-flight gauge, or null when there is none. */
  readonly meanRunning: number | null
  readonly latency: Readonly<Record<LatencyKind, LatencyQuantiles | null>>
  readonly resets: number
  /** Rounds with at least one replica down. */
  readonly degradedRounds: number
}

/** `lengthNs` null: since the first tick. Null when there are fewer than two ticks. */
export function windowTotals(ticks: readonly MonitorTick[], lengthNs: number | null): WindowTotals | null {
  if (ticks.length < 2) return null
  const end = ticks[ticks.length - 1] as MonitorTick
  let startIdx = 0
  if (lengthNs !== null) {
    for (let i = ticks.length - 2; i >= 0; i--) {
      startIdx = i
      if ((ticks[i] as MonitorTick).atNs <= end.atNs - lengthNs) break
    }
  }
  const start = ticks[startIdx] as MonitorTick
  let output = 0
  let input = 0
  let idleNs = 0
  let runningNs = 0
  let runningKnownNs = 0
  let resets = 0
  let degraded = 0
  const hist = { ttft: new Map<number, number>(), itl: new Map<number, number>(), e2e: new Map<number, number>() }
  for (let i = startIdx + 1; i < ticks.length; i++) {
    const t = ticks[i] as MonitorTick
    const dtNs = t.atNs - (ticks[i - 1] as MonitorTick).atNs
    output += t.outputTokens
    input += t.inputTokens
    resets += t.resets
    if (t.targetsDown > 0) degraded++
    if (t.outputTokens === 0 && (t.running === null || t.running === 0)) idleNs += dtNs
    if (t.running !== null) {
      runningNs += t.running * dtNs
      runningKnownNs += dtNs
    }
    for (const k of LATENCY_KINDS) addBuckets(hist[k], t.histograms[k])
  }
  const spanNs = end.atNs - start.atNs
  const latency = {} as Record<LatencyKind, LatencyQuantiles | null>
  for (const k of LATENCY_KINDS) latency[k] = quantiles(hist[k])
  return {
    startNs: start.atNs,
    endNs: end.atNs,
    durationS: spanNs / 1e9,
    outputTokens: output,
    inputTokens: input,
    idleShare: spanNs > 0 ? idleNs / spanNs : 0,
    meanRunning: runningKnownNs > 0 ? runningNs / runningKnownNs : null,
    latency,
    resets,
    degradedRounds: degraded,
  }
}

function quantiles(b: ReadonlyMap<number, number>): LatencyQuantiles | null {
  if (b.size === 0) return null
  const inf = b.get(Infinity) ?? Math.max(0, ...b.values())
  const ms = (q: number): number | null => {
    const v = histogramQuantile(q, b)
    return v === null ? null : v * 1000
  }
  return { count: inf, p50Ms: ms(0.5), p90Ms: ms(0.9), p95Ms: ms(0.95), p99Ms: ms(0.99) }
}
