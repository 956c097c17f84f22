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

/** Rows placed on the timeline are read and built into requests up to this many ahead of the next send, */
const LOOKAHEAD_ROWS = 64
/** but only while that send is at least this far off, so building never delays one. */
const BUILD_GUARD_NS = 2_000_000
/** Rows due this close after the first are read and built before the schedule starts, */
const START_ROWS_NS = 20_000_000
/** and it starts this far after they are ready. */
const START_AHEAD_NS = 5_000_000

interface TraceSession {
  readonly id: number
  /** Rows of it read so far: the turns it planned. */
  turns: number
  /** Resolves with when the session's latest turn ended, or null when it failed or was not sent. */
  tail: Promise<number | null>
  /** Its first turn was sent (not dropped, not cut by a stop). */
  started: boolean
}

/** A row placed on the timeline, its request built, waiting for its instant. */
interface Planned {
  /** Its instant; before the schedule has started, its offset from the start. */
  readonly atNs: number
  /** Prepared once the schedule has started (its instant is part of it). */
  readonly req: InferenceRequest
  /** The session this row opens, and how to settle its first turn's end. */
  readonly session: { readonly state: TraceSession; readonly settle: (endNs: number | null) => void } | null
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
 *
 * Rows are read and their prompts built ahead, while the next send is still far off (a burst of rows
 * due within a millisecond then costs no building between its sends), and each request is handed to
 * the client its send lead before its instant, so the client's own work before the write (see
 * `InferenceClient.sendLeadNs`) happens before the schedule, not after it.
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
  // the schedule starts once the rows due at its start are read and built, a little ahead, so they
  // are not late by the file's opening or their prompts and still get their send lead (see start())
  let startNs: number | null = null
  let deadlineNs = Infinity
  const pending = new Set<Promise<unknown>>()
  const sessions = new Map<string, TraceSession>()
  const sessionRows = new Map<number, number>()
  /** Sessions another segment replays: their later rows are not ours either. */
  const othersSessions = new Set<string>()
  const reader = rows[Symbol.asyncIterator]()
  const queue: Planned[] = []
  let readAll = false
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
  const prepared = (req: InferenceRequest): InferenceRequest => {
    if (startNs !== null) client.prepare(req)
    return req
  }
  const endOf = (rec: RequestRecord): number | null => (rec.error === null ? (rec.lastByteAtNs ?? clock.nowNs()) : null)

  /** A later turn of a session: after the previous one ended, plus its think time. */
  const chainTurn = (known: TraceSession, row: TraceRow): void => {
    const turn = known.turns++
    const think = sToNs((row.thinkTimeMs ?? 0) / 1000)
    known.tail = track(
      known.tail.then(async (endNs) => {
        if (endNs === null || signal.aborted || sent >= limit) return null
        const atNs = endNs + think
        if (atNs >= deadlineNs) return null
        const req = prepared(prompts.request(row, nextSeq(), atNs, { sessionId: known.id, turn, branch: 0 }))
        await clock.sleepUntil(atNs - client.sendLeadNs(), signal)
        if (signal.aborted) return null
        return endOf(await send(req))
      }),
    )
  }

  /** Reads rows until one is placed on the timeline (and returns it built) or the trace or slice ends. */
  const planNext = async (): Promise<Planned | null> => {
    while (!readAll && !signal.aborted && sent < limit) {
      const next = await reader.next()
      if (next.done === true) break
      const row = next.value
      if (row.sessionId !== null && othersSessions.has(row.sessionId)) continue
      const known = row.sessionId !== null ? sessions.get(row.sessionId) : undefined
      if (known !== undefined) {
        chainTurn(known, row)
        continue
      }
      const placed = timeline.place(row.timestampMs)
      if (placed === 'before') {
        skipped++
        continue
      }
      if (placed === 'after') break
      const atNs = (startNs ?? 0) + placed
      if (atNs >= deadlineNs) break
      if (!ownsItem(segment, placedRows++)) {
        if (row.sessionId !== null) othersSessions.add(row.sessionId)
        continue
      }
      if (row.sessionId === null) return { atNs, req: prepared(prompts.request(row, nextSeq(), atNs, null)), session: null }
      const id = globalItem(segment, sessions.size)
      let settle: (endNs: number | null) => void = () => undefined
      const state: TraceSession = { id, turns: 1, started: false, tail: new Promise<number | null>((resolve) => (settle = resolve)) }
      sessions.set(row.sessionId, state)
      return { atNs, req: prepared(prompts.request(row, nextSeq(), atNs, { sessionId: id, turn: 0, branch: 0 })), session: { state, settle } }
    }
    readAll = true
    return null
  }

  /**
   * Builds ahead while the next send is far enough off, a loop turn between rows so the streams in
   * flight are not held up by a run of prompt building.
   */
  const readAhead = async (): Promise<void> => {
    while (!readAll && queue.length < LOOKAHEAD_ROWS) {
      const head = queue[0]
      if (head !== undefined && head.atNs - client.sendLeadNs() - clock.nowNs() < BUILD_GUARD_NS) return
      // one loop turn, so the client's I/O (writes handed over, chunks arriving) runs between builds;
      // not a microsecond's sleep, which was often over before it began and yielded nothing
      if (head !== undefined) await clock.nextTurn()
      const p = await planNext()
      if (p !== null) queue.push(p)
    }
  }

  /**
   * Reads and builds the rows due in the schedule's first START_ROWS_NS (up to LOOKAHEAD_ROWS), then
   * starts it START_AHEAD_NS from now: the rows planned so far get their instants and are prepared.
   * Otherwise a burst at the trace's start (ten 8k-token prompts at once) waits for its own building:
   * only the rows built before the first one's instant are ready on time.
   */
  const start = async (): Promise<void> => {
    for (;;) {
      const spanNs = (queue[queue.length - 1]?.atNs ?? 0) - (queue[0]?.atNs ?? 0)
      if (readAll || queue.length >= LOOKAHEAD_ROWS || spanNs >= START_ROWS_NS) break
      const p = await planNext()
      if (p !== null) queue.push(p)
    }
    const at = clock.nowNs() + START_AHEAD_NS
    startNs = at
    if (config.stop.durationS !== undefined) deadlineNs = at + sToNs(config.stop.durationS)
    const planned = queue.splice(0).map((p) => ({ ...p, atNs: at + p.atNs, req: { ...p.req, scheduledAtNs: at + p.atNs } }))
    for (const p of planned) {
      if (p.atNs >= deadlineNs) {
        p.session?.settle(null)
        readAll = true
        continue
      }
      client.prepare(p.req)
      queue.push(p)
    }
  }

  try {
    await start()
    let lastHandedAtNs: number | null = null
    for (;;) {
      // once the rows due now are all handed over, wait for the last one's instant (its write) before
      // building more: building straight after a hand-over would hold up the client's write
      const due = queue[0]
      if (lastHandedAtNs !== null && (due === undefined || due.atNs - client.sendLeadNs() > clock.nowNs())) {
        await clock.sleepUntil(lastHandedAtNs, signal)
        lastHandedAtNs = null
      }
      await readAhead()
      const item = queue.shift()
      if (item === undefined) break
      await clock.sleepUntil(item.atNs - client.sendLeadNs(), signal)
      lastHandedAtNs = item.atNs
      if (signal.aborted || sent >= limit) {
        item.session?.settle(null)
        break
      }
      if (inFlight >= maxConcurrency) {
        dropped++
        item.session?.settle(null)
        continue
      }
      if (item.session === null) {
        void track(send(item.req))
        continue
      }
      const { state, settle } = item.session
      state.started = true
      void track(send(item.req).then(endOf)).then(settle)
    }
  } finally {
    // sessions planned but never sent end here, so turns chained on them do not wait
    for (const item of queue) item.session?.settle(null)
    await reader.return?.()
  }
  while (pending.size > 0) await Promise.all([...pending])
  for (const s of sessions.values()) if (s.started) sessionRows.set(s.id, s.turns)
  return { dropped, sent, skipped, sessionRows }
}
