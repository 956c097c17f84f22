import type { BenchConfig } from '../core/config/bench-schema.js'
import { arrivalOffsetsNs } from '../core/load/arrivals.js'
import { createRng, deriveSeed } from '../core/load/rng.js'
import { syntheticAnswer, type SessionWorkload } from '../core/load/sessions.js'
import type { Clock, InferenceClient, InferenceRequest } from '../core/ports.js'
import type { RequestRecord } from '../core/records.js'
import { sToNs } from '../core/units.js'
import { globalItem, itemsInSegment, ownsItem, WHOLE_SCHEDULE, type ExecutionSegment } from '../core/load/execution-segment.js'

export interface SessionLoadDeps {
  readonly clock: Clock
  readonly client: InferenceClient
}

export interface SessionLoadResult {
  /** Session arrivals dropped because load.maxConcurrency sessions were in flight (open loop). */
  readonly droppedSessions: number
  readonly sessionsStarted: number
  /** Sessions whose every turn was sent and succeeded. */
  readonly sessionsCompleted: number
}

/**
 * Drives session (task) load. Closed loop: `load.concurrency` sessions in flight, a new one starting
 * when one ends. Open loop: sessions start at absolute arrival offsets (constant, Poisson, gamma);
 * arrivals finding `load.maxConcurrency` sessions in flight are dropped and counted. Within a session
 * a turn is sent only after the previous one (and its fan-out children) ended plus its think time, at
 * that absolute instant (`Clock.sleepUntil`), never after a relative sleep; that instant is the
 * record's `scheduledAtNs`, so the schedule lag shows. Turns after a stop (requests, duration, Ctrl-C)
 * are not sent: the session stays incomplete and is left out of the task figures. A segment runs its
 * stripe of the sessions (of the closed loop's users, of the open loop's session arrivals), numbered
 * as in the whole schedule, under its share of the request and session limits.
 */
export async function runSessionLoad(
  config: BenchConfig,
  sessions: SessionWorkload,
  deps: SessionLoadDeps,
  nextSeq: () => number,
  onRecord: (r: RequestRecord) => void,
  signal: AbortSignal,
  segment: ExecutionSegment = WHOLE_SCHEDULE,
): Promise<SessionLoadResult> {
  const { clock } = deps
  const load = config.load
  const startNs = clock.nowNs()
  const deadlineNs = config.stop.durationS !== undefined ? startNs + sToNs(config.stop.durationS) : Infinity
  const requestLimit = itemsInSegment(segment, config.stop.requests ?? Infinity)
  const sessionLimit = sessions.config.count ?? Infinity
  let requests = 0
  let started = 0
  let completed = 0
  let dropped = 0
  const stopped = (): boolean => signal.aborted || requests >= requestLimit || clock.nowNs() >= deadlineNs

  const send = async (req: InferenceRequest): Promise<RequestRecord> => {
    requests++
    const rec = await deps.client.send(req, signal)
    const { responseText: _text, ...stored } = rec
    onRecord(stored)
    return rec
  }

  const runOne = async (sessionId: number, firstAtNs: number): Promise<void> => {
    const plan = sessions.plan(sessionId)
    const conv = sessions.conversation(sessionId)
    let readyAtNs = firstAtNs
    for (let t = 0; t < plan.turns.length; t++) {
      const turn = plan.turns[t]!
      if (t > 0 && stopped()) return
      // built before the wait and handed over the client's send lead early, so it is written on time
      const req = conv.turnRequest({ seq: nextSeq(), sessionId, turn: t, branch: 0, scheduledAtNs: readyAtNs }, turn)
      deps.client.prepare(req)
      await clock.sleepUntil(readyAtNs - deps.client.sendLeadNs(), signal)
      if (signal.aborted) return
      const rec = await send(req)
      if (rec.error !== null) return
      conv.addAnswer(rec.responseText || syntheticAnswer(sessions, sessionId, t, rec.outputTokens ?? turn.outputTokens), rec.outputTokens ?? turn.outputTokens)
      let endNs = rec.lastByteAtNs ?? clock.nowNs()
      if (turn.fanOut !== null) {
        if (stopped()) return
        const at = endNs + turn.fanOut.thinkBeforeNs
        const childRequests = turn.fanOut.children.map((c, i) => conv.childRequest({ seq: nextSeq(), sessionId, turn: t, branch: i + 1, scheduledAtNs: at }, c))
        for (const c of childRequests) deps.client.prepare(c)
        await clock.sleepUntil(at - deps.client.sendLeadNs(), signal)
        if (signal.aborted) return
        const children = await Promise.all(childRequests.map(send))
        if (children.some((c) => c.error !== null)) return
        conv.addToolResults(
          children.map((c) => c.responseText ?? ''),
          children.reduce((s, c) => s + (c.outputTokens ?? 0), 0),
        )
        endNs = Math.max(endNs, ...children.map((c) => c.lastByteAtNs ?? endNs))
      }
      readyAtNs = endNs + turn.thinkAfterNs
    }
    completed++
  }

  if (load.type === 'closed-loop') {
    await Promise.all(
      Array.from({ length: itemsInSegment(segment, load.concurrency) }, async () => {
        while (!stopped() && started < itemsInSegment(segment, sessionLimit)) {
          const id = globalItem(segment, started++)
          await runOne(id, clock.nowNs())
        }
      }),
    )
  } else {
    const rng = createRng(deriveSeed(config.workload.seed, 'session-arrivals'))
    const inFlight = new Set<Promise<void>>()
    const maxInFlight = Math.max(1, itemsInSegment(segment, load.maxConcurrency))
    let arrival = -1
    for (const offsetNs of arrivalOffsetsNs(load.type, load.rate, load.burstiness, rng)) {
      arrival++
      const atNs = startNs + offsetNs
      if (arrival >= sessionLimit || atNs >= deadlineNs || signal.aborted || requests >= requestLimit) break
      if (!ownsItem(segment, arrival)) continue
      await clock.sleepUntil(atNs, signal)
      if (signal.aborted) break
      if (inFlight.size >= maxInFlight) {
        dropped++
        continue
      }
      const p: Promise<void> = runOne(globalItem(segment, started++), atNs).finally(() => inFlight.delete(p))
      inFlight.add(p)
    }
    await Promise.all(inFlight)
  }
  return { droppedSessions: dropped, sessionsStarted: started, sessionsCompleted: completed }
}
