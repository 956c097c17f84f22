import type { RequestRecord } from '../records.js'
import { requestTimings } from './request-metrics.js'

/** Per-request SLO bounds; an absent bound is not checked. */
export interface SloBounds {
  readonly ttftMs?: number | undefined
  readonly tpotMs?: number | undefined
  readonly e2eMs?: number | undefined
}

export function hasSloBounds(b: SloBounds): boolean {
  return b.ttftMs !== undefined || b.tpotMs !== undefined || b.e2eMs !== undefined
}

/**
 * Counts the requests that met every bound ("good" requests, as vLLM and AIPerf define goodput) and
 * their output tokens. Failed requests are never good; a request with one output token has no TPOT
 * and passes the TPOT bound.
 */
export function countGood(requests: readonly RequestRecord[], b: SloBounds): { good: number; goodOutputTokens: number } {
  let good = 0
  let goodOutputTokens = 0
  for (const r of requests) {
    if (r.error !== null) continue
    const t = requestTimings(r)
    const meets =
      (b.ttftMs === undefined || (t.ttftNs !== null && t.ttftNs / 1e6 <= b.ttftMs)) &&
      (b.tpotMs === undefined || t.tpotNs === null || t.tpotNs / 1e6 <= b.tpotMs) &&
      (b.e2eMs === undefined || (t.e2eNs !== null && t.e2eNs / 1e6 <= b.e2eMs))
    if (meets) {
      good++
      goodOutputTokens += t.outputTokens
    }
  }
  return { good, goodOutputTokens }
}
