import type { RequestRecord } from '../records.js'
import { effectiveChunkTokens } from './request-metrics.js'

export interface WindowNs {
  readonly startNs: number
  readonly endNs: number
  readonly method: string
  /** Set when no steady state was found and the whole run was used. */
  readonly warning: string | null
}

export interface SteadyWindowInput {
  readonly records: readonly RequestRecord[]
  readonly loadType: 'closed-loop' | 'constant' | 'poisson' | 'gamma'
  /** Closed loop: the number of users. */
  readonly concurrency: number | null
}

/** Fewer bins than this and MSER has nothing to say. */
const MIN_BINS = 10
const TARGET_BINS = 100

/**
 * Finds the steady-state window: ramp-up and drain excluded.
 *
 * 1. The load plateau. Closed loop: from when the in-flight count first reaches the number of users
 *    to the last send (after it, users stop and the system drains). Open loop: first to last arrival.
 * 2. Inside the plateau, the MSER-5 rule (White 1997: truncate where the standard error of the
 *    remaining mean is smallest) on the output-token arrival rate cuts the warm-up transient — e.g.
 *    the first wave of simultaneous prefills of a closed loop.
 * When the plateau is too short to judge, the whole run is used and the result says so.
 */
export function findSteadyWindow(input: SteadyWindowInput): WindowNs {
  const rs = input.records.filter((r) => r.phase === 'measure')
  if (rs.length === 0) return { startNs: 0, endNs: 0, method: 'empty', warning: 'no requests were measured' }
  let firstSend = Infinity
  let lastSend = -Infinity
  let lastEnd = -Infinity
  for (const r of rs) {
    firstSend = Math.min(firstSend, r.sentAtNs)
    lastSend = Math.max(lastSend, r.sentAtNs)
    lastEnd = Math.max(lastEnd, r.lastByteAtNs ?? r.sentAtNs)
  }
  const whole = (why: string): WindowNs => ({ startNs: firstSend, endNs: lastEnd, method: 'whole-run', warning: `no steady window: ${why}; figures cover the whole run including ramp-up and drain` })

  let plateauStart = firstSend
  if (input.loadType === 'closed-loop' && input.concurrency !== null) {
    plateauStart = timeInFlightReaches(rs, input.concurrency) ?? firstSend
  }
  const plateauEnd = lastSend
  if (!(plateauEnd > plateauStart)) return whole('the load never reached a plateau (too few requests for the concurrency?)')

  const series = tokenRateSeries(rs, plateauStart, plateauEnd, TARGET_BINS)
  if (series.rates.length < MIN_BINS) return whole('the plateau is too short')
  const cutBins = mser5(series.rates)
  const startNs = plateauStart + cutBins * series.binNs
  if (!(plateauEnd - startNs > 0)) return whole('MSER-5 truncated everything')
  if (countCompletedIn(rs, startNs, plateauEnd) === 0) return whole('no request completed inside the plateau')
  return { startNs, endNs: plateauEnd, method: input.loadType === 'closed-loop' ? 'inflight-plateau+mser5' : 'arrival-span+mser5', warning: null }
}

/** First time the number of requests in flight reaches `n`, or null. */
export function timeInFlightReaches(rs: readonly RequestRecord[], n: number): number | null {
  const events: [number, number][] = []
  for (const r of rs) {
    events.push([r.sentAtNs, 1])
    events.push([r.lastByteAtNs ?? r.sentAtNs, -1])
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let inFlight = 0
  for (const [t, d] of events) {
    inFlight += d
    if (inFlight >= n) return t
  }
  return null
}

export function tokenRateSeries(rs: readonly RequestRecord[], fromNs: number, toNs: number, bins: number): { rates: number[]; binNs: number } {
  const binNs = (toNs - fromNs) / bins
  const rates = new Array<number>(bins).fill(0)
  for (const r of rs) {
    const tokens = effectiveChunkTokens(r)
    for (let i = 0; i < r.chunkAtNs.length; i++) {
      const t = r.chunkAtNs[i] as number
      if (t < fromNs || t >= toNs) continue
      const b = Math.min(bins - 1, Math.floor((t - fromNs) / binNs))
      rates[b] = (rates[b] as number) + (tokens[i] ?? 1)
    }
  }
  return { rates, binNs }
}

/**
 * MSER-5: batch the series in fives and return how many *bins* to truncate from the front so that
 * the standard error of the remaining batch means is smallest (at most half the series).
 */
export function mser5(series: readonly number[]): number {
  const batches: number[] = []
  for (let i = 0; i + 5 <= series.length; i += 5) {
    let s = 0
    for (let j = i; j < i + 5; j++) s += series[j] as number
    batches.push(s / 5)
  }
  const m = batches.length
  if (m < 2) return 0
  let best = 0
  let bestStat = Infinity
  for (let d = 0; d <= Math.floor(m / 2); d++) {
    const n = m - d
    let mean = 0
    for (let i = d; i < m; i++) mean += batches[i] as number
    mean /= n
    let ss = 0
    for (let i = d; i < m; i++) ss += ((batches[i] as number) - mean) ** 2
    const stat = ss / (n * n)
    if (stat < bestStat - 1e-12) {
      bestStat = stat
      best = d
    }
  }
  return best * 5
}

function countCompletedIn(rs: readonly RequestRecord[], fromNs: number, toNs: number): number {
  let n = 0
  for (const r of rs) {
    const end = r.lastByteAtNs ?? r.sentAtNs
    if (end >= fromNs && end <= toNs) n++
  }
  return n
}
