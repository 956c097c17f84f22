import type { RequestRecord } from '../records.js'
import { mser5, tokenRateSeries, type WindowNs } from './steady-window.js'

/** One session's span: its first send to the last byte of its last request. */
export interface SessionSpan {
  readonly sessionId: number
  readonly startNs: number
  readonly endNs: number
}

/** The spans of every session the records belong to, in session order. */
export function sessionSpans(records: readonly RequestRecord[]): SessionSpan[] {
  const by = new Map<number, { startNs: number; endNs: number }>()
  for (const r of records) {
    if (r.sessionId === undefined || r.phase !== 'measure') continue
    const end = r.lastByteAtNs ?? r.sentAtNs
    const s = by.get(r.sessionId)
    if (s === undefined) by.set(r.sessionId, { startNs: r.sentAtNs, endNs: end })
    else {
      s.startNs = Math.min(s.startNs, r.sentAtNs)
      s.endNs = Math.max(s.endNs, end)
    }
  }
  return [...by.entries()].sort((a, b) => a[0] - b[0]).map(([sessionId, s]) => ({ sessionId, ...s }))
}

/**
 * The steady window in session terms. A session keeps its slot through its think times, so the
 * plateau is read from sessions in flight, not requests: closed loop, from when the sessions in flight
 * first reach `load.concurrency` to the last session start (after it the sessions drain); open loop,
 * from the first to the last session start. Then the same MSER-5 truncation as for single requests.
 */
export function findSessionSteadyWindow(records: readonly RequestRecord[], concurrency: number | null): WindowNs {
  const rs = records.filter((r) => r.phase === 'measure')
  const spans = sessionSpans(rs)
  if (spans.length === 0) return { startNs: 0, endNs: 0, method: 'empty', warning: 'no session requests were measured' }
  const firstNs = Math.min(...spans.map((s) => s.startNs))
  const lastEnd = Math.max(...spans.map((s) => s.endNs))
  const whole = (why: string): WindowNs => ({ startNs: firstNs, endNs: lastEnd, method: 'whole-run', warning: `no steady window: ${why}; figures cover the whole run including ramp-up and drain` })
  const plateauStart = concurrency !== null ? (timeSessionsReach(spans, concurrency) ?? firstNs) : firstNs
  const plateauEnd = Math.max(...spans.map((s) => s.startNs))
  if (!(plateauEnd > plateauStart)) return whole('the sessions in flight never reached a plateau (too few sessions for the concurrency?)')
  const series = tokenRateSeries(rs, plateauStart, plateauEnd, 100)
  const startNs = plateauStart + mser5(series.rates) * series.binNs
  if (!spans.some((s) => s.endNs >= startNs && s.endNs <= plateauEnd) && !rs.some((r) => (r.lastByteAtNs ?? r.sentAtNs) >= startNs && (r.lastByteAtNs ?? r.sentAtNs) <= plateauEnd)) {
    return whole('no request completed inside the session plateau')
  }
  return { startNs, endNs: plateauEnd, method: concurrency !== null ? 'sessions-inflight-plateau+mser5' : 'session-arrival-span+mser5', warning: null }
}

function timeSessionsReach(spans: readonly SessionSpan[], n: number): number | null {
  const events: [number, number][] = []
  for (const s of spans) events.push([s.startNs, 1], [s.endNs, -1])
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let inFlight = 0
  for (const [t, d] of events) {
    inFlight += d
    if (inFlight >= n) return t
  }
  return null
}
