import { effectiveChunkTokens, latencySamples, requestsEndedIn } from '../analysis/request-metrics.js'
import { countGood, hasSloBounds, type SloBounds } from '../analysis/slo.js'
import type { RequestRecord } from '../records.js'
import type { Interval, RunSummary } from '../summary.js'
import { NS_PER_S } from '../units.js'

/** Latency bounds a request must all meet to count as good (ms). */
export type { SloBounds } from '../analysis/slo.js'

export interface SloOutcome {
  readonly bounds: SloBounds
  /** Good requests ÷ requests that ended in the window; null without bounds. */
  readonly attainment: number | null
  readonly goodputRequestsPerS: number | null
  readonly goodOutputTokensPerS: number | null
}

/** Student t 97.5 % quantiles by degrees of freedom, for 95 % intervals from a few batches. */
const T975: readonly number[] = [NaN, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086]
const Z975 = 1.959964

/** The figures compare and verify need from a run's raw records, computed once. */
export interface RunEvidence {
  readonly summary: RunSummary
  readonly windowNs: { readonly startNs: number; readonly endNs: number }
  /** Per successful request that ended in the window (ms); ascending. */
  readonly ttftMs: Float64Array
  readonly tpotMs: Float64Array
  readonly e2eMs: Float64Array
  readonly interactivity: Float64Array
  /** 95 % interval of output tokens/s from batch means over the window; null without records. */
  readonly outputTokensPerSInterval: Interval | null
}


/** The SLO bounds a run was benchmarked with. */
export function sloOf(summary: RunSummary): SloBounds {
  const s = summary.slo
  return { ...(s.ttftMs !== undefined ? { ttftMs: s.ttftMs } : {}), ...(s.tpotMs !== undefined ? { tpotMs: s.tpotMs } : {}), ...(s.e2eMs !== undefined ? { e2eMs: s.e2eMs } : {}) }
}

/**
 * Re-judges a run's requests against other SLO bounds, exactly as the run analysis judges them:
 * a successful request that ended in the steady window is good when every bound is met (TPOT is
 * not judged for single-token answers); attainment is over every request that ended in the window,
 * failed ones included. This is how runs benchmarked with different SLOs are compared at one SLO.
 */
export function evaluateSlo(summary: RunSummary, requests: readonly RequestRecord[], bounds: SloBounds): SloOutcome {
  if (!hasSloBounds(bounds)) return { bounds, attainment: null, goodputRequestsPerS: null, goodOutputTokensPerS: null }
  const start = summary.window.startS * NS_PER_S
  const end = summary.window.endS * NS_PER_S
  const ended = requestsEndedIn(requests, start, end)
  const { good, goodOutputTokens: goodTokens } = countGood(ended, bounds)
  const d = summary.window.durationS
  return { bounds, attainment: ended.length > 0 ? good / ended.length : null, goodputRequestsPerS: d > 0 ? good / d : null, goodOutputTokensPerS: d > 0 ? goodTokens / d : null }
}

/**
 * 95 % interval of the window's output token rate from batch means: the window is cut into
 * `batches` equal parts and the spread of their rates gives the standard error (t distribution).
 * Batch means absorb the autocorrelation that makes a per-token error bar far too narrow.
 */
export function throughputInterval(summary: RunSummary, requests: readonly RequestRecord[], batches = 10): Interval | null {
  const start = summary.window.startS * NS_PER_S
  const end = summary.window.endS * NS_PER_S
  if (!(end > start) || requests.length === 0) return null
  const width = (end - start) / batches
  const tokens = new Float64Array(batches)
  for (const r of requests) {
    if (r.phase !== 'measure') continue
    const k = effectiveChunkTokens(r)
    for (let i = 0; i < r.chunkAtNs.length; i++) {
      const t = r.chunkAtNs[i] as number
      if (t < start || t > end) continue
      const b = Math.min(batches - 1, Math.floor((t - start) / width))
      tokens[b] = (tokens[b] as number) + (k[i] ?? 1)
    }
  }
  const widthS = width / NS_PER_S
  const rates = Array.from(tokens, (x) => x / widthS)
  const mean = rates.reduce((a, b) => a + b, 0) / batches
  const sd = Math.sqrt(rates.reduce((a, b) => a + (b - mean) ** 2, 0) / (batches - 1))
  const half = (T975[batches - 1] ?? Z975) * (sd / Math.sqrt(batches))
  const centre = summary.throughput.outputTokensPerS
  return { low: Math.max(0, centre - half), high: centre + half }
}

/**
 * Distribution-free 95 % interval of the q-quantile (0..1) of ascending values: the order
 * statistics at ranks n·q ∓ 1.96·√(n·q·(1−q)) (normal approximation to the binomial).
 */
export function quantileInterval(sorted: Float64Array, q: number): Interval | null {
  const n = sorted.length
  if (n === 0) return null
  const spread = Z975 * Math.sqrt(n * q * (1 - q))
  const lo = Math.max(0, Math.floor(n * q - spread) - 1)
  const hi = Math.min(n - 1, Math.ceil(n * q + spread) - 1)
  return { low: sorted[lo] as number, high: sorted[Math.max(lo, hi)] as number }
}

/** Collects the per-request figures of a run once, for every comparison and claim over it. */
export function runEvidence(summary: RunSummary, requests: readonly RequestRecord[]): RunEvidence {
  const start = summary.window.startS * NS_PER_S
  const end = summary.window.endS * NS_PER_S
  const lat = latencySamples(requestsEndedIn(requests, start, end).filter((r) => r.error === null))
  const sorted = (xs: number[]): Float64Array => Float64Array.from(xs).sort()
  return {
    summary,
    windowNs: { startNs: start, endNs: end },
    ttftMs: sorted(lat.ttftMs),
    tpotMs: sorted(lat.tpotMs),
    e2eMs: sorted(lat.e2eMs),
    interactivity: sorted(lat.interactivityTokPerS),
    outputTokensPerSInterval: throughputInterval(summary, requests),
  }
}
