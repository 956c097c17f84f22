import { availableParallelism } from 'node:os'
import type { EventLoopUtilization } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import type { ChunkTimestamps, ClientLoadThreads, ClientMonitor, ClientMonitorResult, ConnectionStats, InferenceClient, InferenceRequest, TargetInfo } from '../../../core/ports.js'
import type { RequestRecord } from '../../../core/records.js'
import type { NodeClock } from '../../clock/node-clock.js'
import { subscribeAbort } from '../../signal/abort-fanout.js'
import { OpenAIStreamClient, type OpenAIStreamClientOptions } from '../openai-client.js'
import { shouldAddThread } from './auto-policy.js'
import type { FromThread, LoadThreadData, ToThread } from './thread-messages.js'

/** How often `auto` looks at the threads. */
const AUTO_CHECK_MS = 500
/** Longest a thread may take to close its connections before it is terminated. */
const CLOSE_TIMEOUT_MS = 5_000

export interface WorkerPoolClientOptions {
  /** The client every thread runs; `clock` must be the run's NodeClock (its epoch is copied into each thread). */
  readonly client: OpenAIStreamClientOptions & { readonly clock: NodeClock }
  /** Threads sending the load, or `auto`: start with one and add one while the busiest is the limit. */
  readonly workers: number | 'auto'
  /** Most threads `auto` may run (default: the CPUs this process may use). */
  readonly maxWorkers?: number
  /** Told when `auto` adds a thread (a progress line). */
  readonly onInfo?: (message: string) => void
}

interface Pending {
  /** A record for a `send`; nothing for a `warm` or `close`. */
  readonly resolve: (record: RequestRecord | undefined) => void
  readonly thread: LoadThread
  readonly request?: InferenceRequest
}

interface LoadThread {
  readonly index: number
  readonly worker: Worker
  inflight: number
  /** Takes requests once its connections are warm (a thread `auto` adds mid-run warms first). */
  routable: boolean
  alive: boolean
  stats: ConnectionStats
  /** Event-loop utilization when the monitor started watching (or when the thread started, if later). */
  eluAtStart: EventLoopUtilization | null
  /** Its client's send lead, from its last record (ns). */
  leadNs: number | null
}

const NO_STATS: ConnectionStats = { opened: 0, connectMs: [], connectErrors: 0, staleRetries: 0 }

/**
 * The InferenceClient of `--workers N|auto`: the load is sent from N worker threads, each with its own
 * OpenAIStreamClient (undici pool, event loop, chunk stamping on the run's monotonic clock), while this
 * thread keeps the absolute schedule, the meters and the store. Requests go to the thread with the
 * fewest in flight; each record comes back whole, so percentiles over the merged records are exact.
 *
 * Preflight, calibration (`tokenize`, `probePromptTokens`) run on a client of this thread; the threads
 * start after preflight with the model and request options it settled on.
 *
 * @example
 * const client = new WorkerPoolClient({ client: { baseUrl, clock }, workers: 2 })
 * await client.preflight()
 * await client.warmConnections(1024) // 512 per thread
 * const record = await client.send(request)
 */
export class WorkerPoolClient implements InferenceClient {
  readonly chunkTimestamps: ChunkTimestamps
  private readonly main: OpenAIStreamClient
  private readonly threads: LoadThread[] = []
  private readonly pending = new Map<number, Pending>()
  private readonly added: { atNs: number; reason: string }[] = []
  private readonly maxWorkers: number
  private nextId = 0
  private autoTimer: NodeJS.Timeout | null = null
  private lastAddAtMs = -Infinity
  private lastElu = new Map<LoadThread, EventLoopUtilization>()
  private watching = false
  private closed = false

  constructor(private readonly options: WorkerPoolClientOptions) {
    if (options.workers !== 'auto' && !(Number.isInteger(options.workers) && options.workers >= 1)) throw new RangeError(`workers must be a whole number ≥ 1 or auto, not ${options.workers}`)
    this.main = new OpenAIStreamClient(options.client)
    this.chunkTimestamps = { ...this.main.chunkTimestamps, includes: `${this.main.chunkTimestamps.includes}; stamped in the load thread that sent the request` }
    this.maxWorkers = Math.max(1, options.maxWorkers ?? availableParallelism())
  }

  get workerCount(): number {
    return this.threads.filter((t) => t.alive).length
  }

  async preflight(signal?: AbortSignal): Promise<TargetInfo> {
    const target = await this.main.preflight(signal)
    if (this.threads.length === 0) {
      const n = this.options.workers === 'auto' ? 1 : this.options.workers
      for (let i = 0; i < n; i++) this.spawn(true)
      if (this.options.workers === 'auto') this.startAuto()
    }
    return target
  }

  /** Spreads `n` connections over the threads as the least-in-flight routing will spread the load. */
  async warmConnections(n: number): Promise<void> {
    const live = this.threads.filter((t) => t.alive)
    if (live.length === 0) return this.main.warmConnections(n)
    await Promise.all(live.map((t, i) => this.warm(t, Math.floor(n / live.length) + (i < n % live.length ? 1 : 0))))
  }

  send(request: InferenceRequest, signal?: AbortSignal): Promise<RequestRecord> {
    const thread = this.route()
    if (thread === null) return this.main.send(request, signal)
    const id = this.nextId++
    thread.inflight++
    return new Promise<RequestRecord>((resolve) => {
      const unsubscribe = signal !== undefined ? subscribeAbort(signal, () => this.post(thread, { type: 'cancel', id })) : () => undefined
      this.pending.set(id, {
        thread,
        request,
        resolve: (record) => {
          unsubscribe()
          if (record !== undefined) resolve(record)
        },
      })
      this.post(thread, { type: 'send', id, request, postedAtNs: this.options.client.clock.nowNs() })
      if (signal?.aborted === true) this.post(thread, { type: 'cancel', id })
    })
  }

  /** The largest lead any load thread measured (each covers the message to it), or the own client's with none. */
  sendLeadNs(): number {
    let lead: number | null = null
    for (const t of this.threads) if (t.alive && t.leadNs !== null) lead = Math.max(lead ?? 0, t.leadNs)
    return lead ?? this.main.sendLeadNs()
  }

  /** Serializes ahead only for the own client (with no thread left): a load thread serializes what it is sent. */
  prepare(request: InferenceRequest): void {
    if (this.route() === null) this.main.prepare(request)
  }

  tokenize(text: string): Promise<number | null> {
    return this.main.tokenize(text)
  }

  probePromptTokens(request: InferenceRequest): Promise<number | null> {
    return this.main.probePromptTokens(request)
  }

  connectionStats(): ConnectionStats {
    const all = [this.main.connectionStats(), ...this.threads.map((t) => t.stats)]
    return {
      opened: all.reduce((a, s) => a + s.opened, 0),
      connectMs: all.flatMap((s) => s.connectMs),
      connectErrors: all.reduce((a, s) => a + s.connectErrors, 0),
      staleRetries: all.reduce((a, s) => a + (s.staleRetries ?? 0), 0),
    }
  }

  /**
   * Wraps the process monitor: it still reports the whole process's CPU and this thread's event-loop
   * delay, and adds each load thread's event-loop utilization, which says whether the client was the limit.
   */
  monitor(inner: ClientMonitor): ClientMonitor {
    return {
      start: () => {
        inner.start()
        this.watching = true
        for (const t of this.threads) t.eluAtStart = t.alive ? t.worker.performance.eventLoopUtilization() : null
      },
      stop: (): ClientMonitorResult => {
        const r = inner.stop()
        this.watching = false
        return { ...r, threads: this.threadSummary() }
      },
    }
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.autoTimer !== null) clearInterval(this.autoTimer)
    await Promise.all(
      this.threads
        .filter((t) => t.alive)
        .map(async (t) => {
          const id = this.nextId++
          const done = new Promise<void>((resolve) => this.pending.set(id, { thread: t, resolve: () => resolve() }))
          this.post(t, { type: 'close', id })
          const timer = setTimeout(() => void t.worker.terminate(), CLOSE_TIMEOUT_MS)
          await Promise.race([done, new Promise((resolve) => t.worker.once('exit', resolve))])
          clearTimeout(timer)
          await t.worker.terminate()
        }),
    )
    await this.main.close()
  }

  // ---------------------------------------------------------------- threads

  private threadSummary(): ClientLoadThreads {
    return {
      count: this.workerCount,
      mode: this.options.workers === 'auto' ? 'auto' : 'fixed',
      utilization: this.threads.map((t) => (t.alive ? t.worker.performance.eventLoopUtilization(t.eluAtStart ?? undefined).utilization : 0)),
      added: [...this.added],
    }
  }

  private spawn(routable: boolean): LoadThread {
    const { clock, ...options } = this.options.client
    const workerData: LoadThreadData = { options: { ...options, ...this.main.negotiated() }, epochHr: clock.epochHr, epochWallMs: clock.epochWallMs }
    const thread: LoadThread = { index: this.threads.length, worker: startLoadThread(workerData), inflight: 0, routable, alive: true, stats: NO_STATS, eluAtStart: null, leadNs: null }
    thread.worker.on('message', (m: FromThread) => this.onMessage(thread, m))
    thread.worker.on('error', (e: Error) => this.onThreadExit(thread, e.message))
    thread.worker.on('exit', (code) => this.onThreadExit(thread, `exited with code ${code}`))
    this.threads.push(thread)
    return thread
  }

  private onMessage(thread: LoadThread, m: FromThread): void {
    const p = this.pending.get(m.id)
    if (m.stats !== undefined) thread.stats = m.stats
    if (p === undefined) return
    this.pending.delete(m.id)
    if (m.type === 'record') {
      thread.inflight--
      thread.leadNs = m.leadNs
    }
    p.resolve(m.type === 'record' ? m.record : undefined)
  }

  /** A thread that died: its requests become failed records (data, not a crash) and the rest go elsewhere. */
  private onThreadExit(thread: LoadThread, why: string): void {
    if (!thread.alive) return
    thread.alive = false
    thread.routable = false
    for (const [id, p] of this.pending) {
      if (p.thread !== thread) continue
      this.pending.delete(id)
      p.resolve(p.request !== undefined ? lostRecord(p.request, this.options.client.clock.nowNs(), this.closed ? 'the run closed its load threads' : `load thread ${thread.index} stopped: ${why}`) : undefined)
    }
    // no respawn (a thread that cannot start would loop): the others take the load, or with none
    // left this thread's own client does, and the progress line says so
    if (!this.closed) this.options.onInfo?.(`workers: load thread ${thread.index} stopped (${why}); its requests in flight are failed records, ${this.workerCount > 0 ? `${this.workerCount} thread(s) go on` : 'the scheduling thread sends the rest itself'}`)
  }

  private route(): LoadThread | null {
    let best: LoadThread | null = null
    for (const t of this.threads) if (t.routable && t.alive && (best === null || t.inflight < best.inflight)) best = t
    return best
  }

  private post(thread: LoadThread, m: ToThread): void {
    if (thread.alive) thread.worker.postMessage(m)
  }

  private warm(thread: LoadThread, connections: number): Promise<void> {
    const id = this.nextId++
    return new Promise<void>((resolve) => {
      this.pending.set(id, { thread, resolve: () => resolve() })
      this.post(thread, { type: 'warm', id, connections })
    })
  }

  /** `auto`: every half second, a thread more when the busiest was the limit and a CPU is left for it. */
  private startAuto(): void {
    this.autoTimer = setInterval(() => this.autoCheck(), AUTO_CHECK_MS)
    this.autoTimer.unref()
  }

  private autoCheck(): void {
    const live = this.threads.filter((t) => t.alive)
    const busy: { thread: number; share: number }[] = []
    for (const t of live) {
      const now = t.worker.performance.eventLoopUtilization()
      const prev = this.lastElu.get(t)
      this.lastElu.set(t, now)
      if (prev === undefined || !t.routable) continue
      busy.push({ thread: t.index, share: t.worker.performance.eventLoopUtilization(now, prev).utilization })
    }
    const nowMs = this.options.client.clock.nowNs() / 1e6
    const inflight = live.reduce((a, t) => a + t.inflight, 0)
    const decision = shouldAddThread({ busy, threads: live.length, maxThreads: this.maxWorkers, warming: live.some((t) => !t.routable), inflight, sinceLastAddMs: nowMs - this.lastAddAtMs })
    if (!decision.add) return
    const reason = decision.reason
    this.lastAddAtMs = nowMs
    const thread = this.spawn(false)
    this.added.push({ atNs: this.options.client.clock.nowNs(), reason })
    this.options.onInfo?.(`workers: added load thread ${thread.index + 1} of at most ${this.maxWorkers} (${reason})`)
    // as many connections as an even share of what is in flight, then it takes requests
    void this.warm(thread, Math.ceil(inflight / (live.length + 1))).then(() => {
      if (this.watching) thread.eluAtStart = thread.worker.performance.eventLoopUtilization()
      thread.routable = thread.alive
    })
  }
}

/**
 * Starts load-thread.ts. From the compiled package that is plain JavaScript; from the TypeScript
 * sources (tests, benchmarks run through tsx) a worker thread on Node 20 does not inherit tsx's
 * loader, so the thread registers it before importing the entry.
 */
function startLoadThread(workerData: LoadThreadData): Worker {
  const fromSource = import.meta.url.endsWith('.ts')
  const entry = new URL(fromSource ? './load-thread.ts' : './load-thread.js', import.meta.url)
  if (!fromSource) return new Worker(entry, { workerData })
  const tsx = import.meta.resolve('tsx/esm/api')
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}) })`
  return new Worker(boot, { eval: true, workerData })
}

/** The record of a request whose thread stopped before it finished. */
function lostRecord(request: InferenceRequest, atNs: number, message: string): RequestRecord {
  return {
    seq: request.seq,
    phase: request.phase,
    userId: request.userId,
    scheduledAtNs: request.scheduledAtNs,
    sentAtNs: atNs,
    headersAtNs: null,
    chunkAtNs: [],
    chunkTokens: [],
    lastByteAtNs: null,
    targetInputTokens: request.targetInputTokens,
    targetOutputTokens: request.maxTokens,
    inputTokens: null,
    outputTokens: null,
    tokenSource: 'client-count',
    finishReason: null,
    error: { kind: message.startsWith('the run closed') ? 'aborted' : 'stream_cut', message },
    ...(request.session !== undefined ? { sessionId: request.session.sessionId, turn: request.session.turn, branch: request.session.branch } : {}),
  }
}
