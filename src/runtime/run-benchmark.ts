import type { BenchConfig } from '../core/config/bench-schema.js'
import { analyzeRun } from '../core/analysis/analyze-run.js'
import type { DatasetItem } from '../core/load/dataset.js'
import { arrivalOffsetsNs } from '../core/load/arrivals.js'
import { createRng, deriveSeed } from '../core/load/rng.js'
import { createWorkload, type RequestSlot, type Workload } from '../core/load/workload.js'
import type { ClientMonitor, Clock, EventSink, InferenceClient, PowerMeter, TargetInfo } from '../core/ports.js'
import type { PowerSample, RequestRecord } from '../core/records.js'
import type { ResultsStore } from '../core/store.js'
import type { RunSummary } from '../core/summary.js'
import { sToNs } from '../core/units.js'
import { calibrateTokens } from './calibrate.js'
import { analyzeTasks, taskWarnings } from '../core/analysis/analyze-tasks.js'
import { SessionWorkload, type SessionPlan } from '../core/load/sessions.js'
import { runSessionLoad } from './run-sessions.js'
import { runTraceReplay } from './run-trace.js'
import { DEFAULT_BLOCK_TOKENS } from '../core/config/trace-schema.js'
import { TracePrompts } from '../core/load/trace/trace-prompts.js'
import type { TraceRow } from '../core/load/trace/trace-row.js'
import { globalItem, itemsInSegment, ownsItem, WHOLE_SCHEDULE, type ExecutionSegment } from '../core/load/execution-segment.js'
import { StartTimePassedError } from '../core/errors.js'

export interface BenchDeps {
  readonly clock: Clock
  readonly client: InferenceClient
  readonly meters: readonly PowerMeter[]
  readonly store: ResultsStore
  readonly events: EventSink
  readonly monitor: ClientMonitor | null
  /** Prompts from a dataset file, already parsed by the caller (null: synthetic prompts). */
  readonly dataset: readonly DatasetItem[] | null
  /** Rows of workload.trace, streamed from the file by the caller (read once, in order). */
  readonly traceRows?: AsyncIterable<TraceRow> | null
  /** Aborted on Ctrl-C: stop sending, cancel what is in flight, keep and analyse what was measured. */
  readonly signal: AbortSignal
  readonly runId: string
  readonly toolVersion: string
  /** Config as stored (secrets removed); defaults to `config`. */
  readonly configForRecord?: unknown
  /** Finishes the summary with figures computed elsewhere in the core (energy, cost). */
  readonly enrich?: (summary: RunSummary, ctx: EnrichContext) => RunSummary
}

export interface EnrichContext {
  readonly samples: readonly PowerSample[]
  readonly meters: readonly PowerMeter[]
  readonly idleWindowNs: { readonly startNs: number; readonly endNs: number } | null
  readonly records: readonly RequestRecord[]
}

export interface BenchResult {
  readonly summary: RunSummary
  readonly target: TargetInfo
  /** Every request record and power sample of the run, as stored (for reports without a re-read). */
  readonly records: readonly RequestRecord[]
  readonly samples: readonly PowerSample[]
}

/** Keep-alive connections opened before a trace replay (its concurrency is not known in advance). */
const TRACE_WARM_CONNECTIONS = 32

/** How often finished records and samples are written to the store while the run goes on. */
const FLUSH_EVERY_NS = 250e6

/**
 * Runs one benchmark: preflight, calibrate, idle baseline, warm-up, the measured load (closed or open
 * loop on an absolute schedule), then analysis. Records and samples go to the store as they arrive,
 * so an interrupted run keeps everything measured so far.
 */
export async function runBenchmark(config: BenchConfig, deps: BenchDeps): Promise<BenchResult> {
  const { clock, client, store, events, signal } = deps
  const startedAt = new Date(clock.wallMs()).toISOString()
  const warnings: string[] = []
  events.emit({ type: 'phase', phase: 'preflight', atNs: clock.nowNs() })
  const target = await client.preflight(signal)
  await preflightMeters(deps.meters)
  if (!target.streamsUsage) warnings.push('the server sent no usage with stream_options.include_usage; token counts come from content chunks')

  const { calibration, note } = await calibrateTokens(client, config)
  if (note) warnings.push(note)
  const workload = createWorkload(config, calibration, deps.dataset)
  const sessionsCfg = config.workload.sessions
  const sessions = sessionsCfg !== undefined ? new SessionWorkload(sessionsCfg, config.workload.seed, config.workload, calibration, config.target.api === 'chat') : null

  store.createRun({
    id: deps.runId,
    startedAt,
    epochWallMs: clock.wallMs() - clock.nowNs() / 1e6,
    toolVersion: deps.toolVersion,
    config: deps.configForRecord ?? config,
    target: { endpoint: target.baseUrl, api: config.target.api, model: target.model, server: target.server },
    labels: config.labels,
    meters: deps.meters.map((m) => m.info),
  })

  const records: RequestRecord[] = []
  const samples: PowerSample[] = []
  let unflushedRecords: RequestRecord[] = []
  let unflushedSamples: PowerSample[] = []
  const flush = (): void => {
    store.appendRequests(deps.runId, unflushedRecords)
    store.appendPowerSamples(deps.runId, unflushedSamples)
    unflushedRecords = []
    unflushedSamples = []
  }
  const onSample = (s: PowerSample): void => {
    samples.push(s)
    unflushedSamples.push(s)
  }
  const onRecord = (r: RequestRecord): void => {
    records.push(r)
    unflushedRecords.push(r)
    events.emit({ type: 'request', record: r })
  }

  let status: RunSummary['status'] = 'complete'
  let idleWindowNs: { startNs: number; endNs: number } | null = null
  const inflight = new AbortController()
  const abortInflight = (): void => inflight.abort()
  signal.addEventListener('abort', abortInflight, { once: true })
  const flusherStop = new AbortController()
  const flusher = (async () => {
    let next = clock.nowNs() + FLUSH_EVERY_NS
    while (!flusherStop.signal.aborted) {
      await clock.sleepUntil(next, flusherStop.signal)
      flush()
      next += FLUSH_EVERY_NS
    }
  })()

  let dropped = 0
  let traceSessionRows: ReadonlyMap<number, number> = new Map()
  let traceDescription: Record<string, unknown> | null = null
  let monitorResult: ReturnType<ClientMonitor["stop"]> | null
  const startedMeters: PowerMeter[] = []
  try {
    for (const m of deps.meters) {
      await m.start(onSample)
      startedMeters.push(m)
    }
    if (config.idleS > 0 && !signal.aborted) {
      const startNs = clock.nowNs()
      events.emit({ type: 'info', message: `measuring idle power for ${config.idleS} s` })
      await clock.sleepUntil(startNs + sToNs(config.idleS), signal)
      idleWindowNs = { startNs, endNs: clock.nowNs() }
      // Still idle for one reading more (and the source's averaging window), so the readings that
      // bracket the idle window's end hold no load: energy at the edge is interpolated between them.
      const guardMs = Math.min(2000, Math.max(0, ...deps.meters.map((m) => m.info.periodMs + m.info.averagingWindowMs)))
      if (guardMs > 0) await clock.sleepUntil(idleWindowNs.endNs + guardMs * 1e6, signal)
    }
    const segment = config.shard ?? WHOLE_SCHEDULE
    const concurrency = config.workload.trace !== undefined ? TRACE_WARM_CONNECTIONS : config.load.type === 'closed-loop' ? itemsInSegment(segment, config.load.concurrency) : Math.min(config.load.maxConcurrency, Math.max(1, Math.ceil((config.load.rate * 2) / segment.count)))
    if (!signal.aborted) await client.warmConnections(concurrency)

    // Warm-up requests are items 0..W−1 of the schedule and measured ones W, W+1, …: each shard takes
    // its own stripe of both, so sequence numbers never collide when shards are merged.
    const warmups = itemsInSegment(segment, config.warmupRequests)
    if (warmups > 0 && !signal.aborted) {
      events.emit({ type: 'phase', phase: 'warmup', atNs: clock.nowNs() })
      let taken = 0
      const users = Math.min(concurrency, warmups)
      await Promise.all(
        Array.from({ length: users }, async (_, userId) => {
          while (taken < warmups && !signal.aborted) {
            const req = workload.request({ seq: globalItem(segment, taken++), phase: 'warmup', userId, scheduledAtNs: null })
            onRecord(await client.send(req, inflight.signal))
          }
        }),
      )
    }
    if (config.startAt !== undefined && !signal.aborted) await waitForStart(config.startAt, clock, signal)

    deps.monitor?.start()
    events.emit({ type: 'phase', phase: 'measure', atNs: clock.nowNs() })
    let measuredSeq = 0
    const nextSeq = (): number => config.warmupRequests + globalItem(segment, measuredSeq++)
    const trace = config.workload.trace
    if (trace !== undefined && deps.traceRows) {
      const prompts = new TracePrompts(config.workload.seed, trace.blockTokens ?? DEFAULT_BLOCK_TOKENS[trace.format], calibration, config.target.api === 'chat')
      const r = await runTraceReplay(config, trace, deps.traceRows, prompts, deps, nextSeq, onRecord, inflight.signal, segment)
      dropped = r.dropped
      traceSessionRows = r.sessionRows
      traceDescription = { kind: 'trace', path: trace.path, format: trace.format, timeScale: trace.timeScale, maxIdleGapS: trace.maxIdleGapS ?? null, startOffsetS: trace.startOffsetS, durationS: trace.durationS ?? null, blockTokens: trace.blockTokens ?? DEFAULT_BLOCK_TOKENS[trace.format], rowsSent: r.sent, rowsSkipped: r.skipped, sessions: r.sessionRows.size, calibration }
    } else if (sessions !== null) dropped = (await runSessionLoad(config, sessions, deps, nextSeq, onRecord, inflight.signal, segment)).droppedSessions
    else if (config.load.type === 'closed-loop') await closedLoop(config, workload, deps, nextSeq, onRecord, inflight.signal, segment)
    else dropped = await openLoop(config, workload, deps, nextSeq, onRecord, inflight.signal, segment)
    monitorResult = deps.monitor?.stop() ?? null
    events.emit({ type: 'phase', phase: 'drain', atNs: clock.nowNs() })
    if (signal.aborted) status = 'interrupted'
  } catch (e) {
    status = 'failed'
    throw e
  } finally {
    for (const m of startedMeters) await m.stop().catch(() => undefined)
    signal.removeEventListener('abort', abortInflight)
    flusherStop.abort()
    await flusher
    flush()
    if (status === 'failed') store.finishRun(deps.runId, 'failed', null)
  }

  events.emit({ type: 'phase', phase: 'analyze', atNs: clock.nowNs() })
  let summary = analyzeRun({
    id: deps.runId,
    startedAt,
    endedAt: new Date(clock.wallMs()).toISOString(),
    status,
    toolVersion: deps.toolVersion,
    config,
    target: { endpoint: target.baseUrl, api: config.target.api, model: target.model, server: target.server },
    workload: traceDescription ?? (sessions !== null ? sessions.description : workload.description),
    records,
    powerSamples: samples,
    meters: deps.meters.map((m) => m.info),
    idleWindowNs,
    connections: client.connectionStats(),
    droppedArrivals: dropped,
    clientMonitor: monitorResult,
    chunkTimestamps: client.chunkTimestamps,
    warnings,
  })
  if (deps.configForRecord !== undefined) summary = { ...summary, config: deps.configForRecord }
  if (deps.enrich) summary = deps.enrich(summary, { samples, meters: deps.meters, idleWindowNs, records })
  if (sessions !== null || traceSessionRows.size > 0) {
    const w = summary.window
    const tasks = analyzeTasks({
      records,
      window: { startNs: sToNs(w.startS), endNs: sToNs(w.endS), durationS: w.durationS },
      plan: (id) => (sessions !== null ? sessions.plan(id) : traceSessionPlan(id, traceSessionRows.get(id) ?? 0)),
      slo: config.slo,
      taskLatencyMs: sessions?.config.taskLatencyMs ?? null,
      summary,
    })
    summary = { ...summary, tasks, warnings: [...summary.warnings, ...taskWarnings(tasks)] }
  }
  store.finishRun(deps.runId, status, summary)
  events.emit({ type: 'phase', phase: 'done', atNs: clock.nowNs() })
  return { summary, target, records, samples }
}

/** A trace session as a plan: one turn per row it had. */
function traceSessionPlan(sessionId: number, rows: number): SessionPlan {
  return { sessionId, turns: Array.from({ length: rows }, () => ({ inputTokens: 0, outputTokens: 0, thinkAfterNs: 0, fanOut: null })) }
}

/** Preflights every meter; when one fails, the ones already open (sessions, processes) are closed. */
async function preflightMeters(meters: readonly PowerMeter[]): Promise<void> {
  const ready: PowerMeter[] = []
  try {
    for (const m of meters) {
      await m.preflight()
      ready.push(m)
    }
  } catch (e) {
    for (const m of ready) await m.stop().catch(() => undefined)
    throw e
  }
}

/**
 * Waits until the wall-clock `startAt` (ISO 8601), so shards on several hosts start their load
 * together. A start time already passed would misalign the shards: a typed error, not a late start.
 */
async function waitForStart(startAt: string, clock: Clock, signal: AbortSignal): Promise<void> {
  const leftMs = Date.parse(startAt) - clock.wallMs()
  if (leftMs < 0) {
    throw new StartTimePassedError(`startAt ${startAt} passed ${(-leftMs / 1000).toFixed(1)} s before the load was ready to start`, {
      hint: 'give a --start-at far enough ahead for every shard to finish preflight and warm-up',
    })
  }
  await clock.sleepUntil(clock.nowNs() + leftMs * 1e6, signal)
}

/** N users (this segment's stripe of them), each sending its next request as soon as the previous one ends. */
async function closedLoop(
  config: BenchConfig,
  workload: Workload,
  deps: BenchDeps,
  nextSeq: () => number,
  onRecord: (r: RequestRecord) => void,
  signal: AbortSignal,
  segment: ExecutionSegment,
): Promise<void> {
  if (config.load.type !== 'closed-loop') return
  const { clock } = deps
  const limit = itemsInSegment(segment, config.stop.requests ?? Infinity)
  const deadlineNs = config.stop.durationS !== undefined ? clock.nowNs() + sToNs(config.stop.durationS) : Infinity
  let issued = 0
  await Promise.all(
    Array.from({ length: itemsInSegment(segment, config.load.concurrency) }, async (_, localUser) => {
      const userId = globalItem(segment, localUser)
      while (!signal.aborted && issued < limit && clock.nowNs() < deadlineNs) {
        issued++
        const slot: RequestSlot = { seq: nextSeq(), phase: 'measure', userId, scheduledAtNs: null }
        onRecord(await deps.client.send(workload.request(slot), signal))
      }
    }),
  )
}

/**
 * Requests at absolute arrival times (constant, Poisson or gamma). A request is sent at
 * `start + offset` however late the previous one was; arrivals finding `maxConcurrency` requests in
 * flight are dropped and counted. Returns the number dropped. A segment sends only its stripe of the
 * arrivals (every shard draws the whole seeded schedule) under its share of `maxConcurrency`.
 */
async function openLoop(
  config: BenchConfig,
  workload: Workload,
  deps: BenchDeps,
  nextSeq: () => number,
  onRecord: (r: RequestRecord) => void,
  signal: AbortSignal,
  segment: ExecutionSegment,
): Promise<number> {
  const load = config.load
  if (load.type === 'closed-loop') return 0
  const { clock } = deps
  const limit = config.stop.requests ?? Infinity
  const maxInFlight = Math.max(1, itemsInSegment(segment, load.maxConcurrency))
  const spanNs = config.stop.durationS !== undefined ? sToNs(config.stop.durationS) : Infinity
  const rng = createRng(deriveSeed(config.workload.seed, 'arrivals'))
  const startNs = clock.nowNs()
  const pending = new Set<Promise<void>>()
  let dropped = 0
  let arrival = -1
  for (const offsetNs of arrivalOffsetsNs(load.type, load.rate, load.burstiness, rng)) {
    arrival++
    if (signal.aborted || arrival >= limit || offsetNs >= spanNs) break
    if (!ownsItem(segment, arrival)) continue
    const atNs = startNs + offsetNs
    // built before the wait and handed over the client's send lead early, so it is written on time
    const slot: RequestSlot = { seq: nextSeq(), phase: 'measure', userId: null, scheduledAtNs: atNs }
    const req = workload.request(slot)
    deps.client.prepare(req)
    await clock.sleepUntil(atNs - deps.client.sendLeadNs(), signal)
    if (signal.aborted) break
    if (pending.size >= maxInFlight) {
      dropped++
      continue
    }
    const p: Promise<void> = deps.client.send(req, signal).then((r) => {
      pending.delete(p)
      onRecord(r)
    })
    pending.add(p)
  }
  await Promise.all(pending)
  return dropped
}
