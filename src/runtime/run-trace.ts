import type { BenchConfig } from '../core/config/bench-schema.js'
import type { TraceConfig } from '../core/config/trace-schema.js'
import type { TracePrompts } from '../core/load/trace/trace-prompts.js'
import type { TraceRow } from '../core/load/trace/trace-row.js'
import { TraceTimeline } from '../core/load/trace/trace-timeline.js'
import type { Clock, InferenceClient, InferenceRequest } from '../core/ports.js'
import type { RequestRecord } from '../core/records.js'
import { sToNs } from '../core/units.js'
import { globalItem, itemsInSegment, ownsItem, WHOLE_SCHEDULE, type ExecutionSegment } from '../core/load/execution-segment.js'

export interface TraceReplayResult {
  /** Arrivals dropped because load.maxConcurrency requests were in flight. */
  readonly dropped: number
  /** Rows sent, and rows outside the start-offset/duration slice. */
  readonly sent: number
  readonly skipped: number
  /** Requests each trace session planned (rows), by the session number its records carry. */
  readonly sessionRows: ReadonlyMap<number, number>
}

/**
 * Replays a trace on the absolute schedule. Rows stream in (the file is never held in memory); each
 * row without a session is sent at `start + offset` (see TraceTimeline) however late the previous one
 * was, and counted as dropped when `maxConcurrency` requests are in flight. Rows of a session trace
 * keep their order: the first is placed on the timeline, each later one is sent when the previous one
 * ended plus its think time (on the absolute clock), as the session's turn. Stops at the trace's end,
 * the slice's end, stop.requests, stop.durationS or Ctrl-C. A segment replays its stripe of the rows
 * placed on the timeline (a session goes wholly to the segment its first row falls to) under its share
 * of `maxConcurrency` and `stop.requests`.
 */
export async function runTraceReplay(
  config: BenchConfig,
  trace: TraceConfig,
  rows: AsyncIterable<TraceRow>,
  prompts: TracePrompts,
  deps: { readonly clock: Clock; readonly client: InferenceClient },
  nextSeq: () => number,
  onRecord: (r: RequestRecord) => void,
  signal: AbortSignal,
  segment: ExecutionSegment = WHOLE_SCHEDULE,
): Promise<TraceReplayResult> {
  const { clock, client } = deps
  const timeline = new TraceTimeline(trace)
  const maxConcurrency = Math.max(1, itemsInSegment(segment, config.load.type === 'closed-loop' ? 10_000 : config.load.maxConcurrency))
  const limit = itemsInSegment(segment, config.stop.requests ?? Infinity)
  const startNs = clock.nowNs()
  const deadlineNs = config.stop.durationS !== undefined ? startNs + sToNs(config.stop.durationS) : Infinity
  const pending = new Set<Promise<unknown>>()
  const sessions = new Map<string, { id: number; turns: number; tail: Promise<number | null> }>()
  const sessionRows = new Map<number, number>()
  /** Sessions another segment replays: their later rows are not ours either. */
  const othersSessions = new Set<string>()
  let placedRows = 0
  let inFlight = 0
  let sent = 0
  let skipped = 0
  let dropped = 0

  const send = async (req: InferenceRequest): Promise<RequestRecord> => {
    sent++
    inFlight++
    try {
      const rec = await client.send(req, signal)
      onRecord(rec)
      return rec
    } finally {
      inFlight--
    }
  }
  const track = <T>(p: Promise<T>): Promise<T> => {
    pending.add(p)
    void p.finally(() => pending.delete(p))
    return p
  }

  for await (const row of rows) {
    if (signal.aborted || sent >= limit) break
    if (row.sessionId !== null && othersSessions.has(row.sessionId)) continue
    const known = row.sessionId !== null ? sessions.get(row.sessionId) : undefined
    if (known !== undefined) {
      // a later turn of a session: after the previous one ended, plus its think time
      const turn = known.turns++
      sessionRows.set(known.id, known.turns)
      const think = sToNs((row.thinkTimeMs ?? 0) / 1000)
      known.tail = track(
        known.tail.then(async (endNs) => {
          if (endNs === null || signal.aborted || sent >= limit) return null
          const atNs = endNs + think
          if (atNs >= deadlineNs) return null
          const req = prompts.request(row, nextSeq(), atNs, { sessionId: known.id, turn, branch: 0 })
          await clock.sleepUntil(atNs, signal)
          if (signal.aborted) return null
          const rec = await send(req)
          return rec.error === null ? (rec.lastByteAtNs ?? clock.nowNs()) : null
        }),
      )
      continue
    }
    const placed = timeline.place(row.timestampMs)
    if (placed === 'before') {
      skipped++
      continue
    }
    if (placed === 'after') break
    const atNs = startNs + placed
    if (atNs >= deadlineNs) break
    if (!ownsItem(segment, placedRows++)) {
      if (row.sessionId !== null) othersSessions.add(row.sessionId)
      continue
    }
    // the prompt is built before the wait, so the send at the scheduled instant does only the send
    const newSession = row.sessionId !== null ? globalItem(segment, sessions.size) : null
    const req = prompts.request(row, nextSeq(), atNs, newSession !== null ? { sessionId: newSession, turn: 0, branch: 0 } : null)
    await clock.sleepUntil(atNs, signal)
    if (signal.aborted) break
    if (inFlight >= maxConcurrency) {
      dropped++
      continue
    }
    if (row.sessionId !== null && newSession !== null) {
      sessionRows.set(newSession, 1)
      const s = { id: newSession, turns: 1, tail: Promise.resolve<number | null>(null) }
      s.tail = track(send(req).then((rec) => (rec.error === null ? (rec.lastByteAtNs ?? clock.nowNs()) : null)))
      sessions.set(row.sessionId, s)
    } else {
      void track(send(req))
    }
  }
  while (pending.size > 0) await Promise.all([...pending])
  return { dropped, sent, skipped, sessionRows }
}
