/**
 * One measurement of `npm run bench:client`, run in its own process (pinned to one core by the
 * orchestrator with taskset): drives closed-loop streams against the ground-truth server with either
 * tokenwatt's OpenAIStreamClient (full per-chunk bookkeeping) or a bare undici loop that only counts
 * SSE events, and writes what it saw to a JSON file.
 *
 * Usage: node --import tsx bench/client-worker.ts TASK.json RESULT.json
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Pool, type Dispatcher } from 'undici'
import type { InferenceClient, InferenceRequest } from '../src/core/ports.js'
import type { RequestRecord } from '../src/core/records.js'

export interface WorkerTask {
  readonly client: 'tokenwatt' | 'bare'
  readonly mode: 'throughput' | 'accuracy'
  readonly port: number
  /** The server's pid, to read its CPU time inside the window from /proc (null: not available). */
  readonly serverPid: number | null
  readonly streams: number
  readonly outputTokens: number
  /** Throughput: seconds of load before the counted window, and the window's length. */
  readonly warmupS: number
  readonly windowS: number
  /** Accuracy: measured requests per stream (after one short warm-up request each). */
  readonly requestsPerStream: number
  /** Accuracy: where to write the measured records. */
  readonly recordsPath: string | null
  /** tokenwatt client only: load threads (`--workers`); 1 = the client in this thread, as `bench` runs by default. */
  readonly workers?: number
}

/** A record as the accuracy analysis needs it, times in ns from the worker clock's epoch. */
export interface SlimRecord {
  readonly seq: number
  readonly sentAtNs: number
  readonly headersAtNs: number | null
  readonly chunkAtNs: readonly number[]
  readonly outputTokens: number | null
  readonly error: string | null
}

export interface RecordsFile {
  /** `process.hrtime.bigint()` at the worker clock's epoch (decimal string). */
  readonly epochHr: string
  readonly records: readonly SlimRecord[]
}

export interface WorkerResult {
  readonly task: WorkerTask
  readonly requests: number
  readonly errors: Readonly<Record<string, number>>
  /** Requests whose token count was not the asked-for output length. */
  readonly wrongTokenCount: number
  readonly windowS: number
  readonly tokensInWindow: number
  readonly tokensPerS: number
  readonly cpuS: number
  /** Of which in the kernel (system time): syscalls, loopback TCP, epoll. */
  readonly cpuSysS: number
  /** Client CPU (user + system) per ingested token in the window, microseconds. */
  readonly cpuUsPerToken: number
  /** Share of one core the client used in the window. */
  readonly cpuShare: number
  /** Share of one core the server used in the same window (from /proc); null where unreadable. */
  readonly serverCpuShare: number | null
  readonly maxRssMB: number
  readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number }
  readonly connections: { readonly openedBeforeMeasure: number; readonly openedAfter: number; readonly connectMsMedian: number | null }
  readonly clockCheck: ClockCheck
  /** Where the tokenwatt client stamped chunks (`kernel-rx`, or `http-read` and why); null for the bare loop. */
  readonly chunkStamps: string | null
}

/** Whether the server's CLOCK_MONOTONIC readings fall between two hrtime readings of this process. */
export interface ClockCheck {
  readonly samples: number
  readonly inside: number
  /** Largest |server − midpoint of the client's two readings|, ns. */
  readonly maxAbsOffsetNs: number
  readonly minRoundTripNs: number
}

/**
 * Where the client under test comes from: this checkout's src/, or another tree (TOKENWATT_BENCH_SRC,
 * set by `--src DIR`) so a candidate change can be measured against the same server side by side.
 */
const SRC = process.env.TOKENWATT_BENCH_SRC ?? fileURLToPath(new URL('../src/', import.meta.url))
const { NodeClock } = (await import(pathToFileURL(join(SRC, 'adapters/clock/node-clock.js')).href)) as typeof import('../src/adapters/clock/node-clock.js')
const { OpenAIStreamClient } = (await import(pathToFileURL(join(SRC, 'adapters/endpoints/openai-client.js')).href)) as typeof import('../src/adapters/endpoints/openai-client.js')
const loadWorkerPool = async (): Promise<typeof import('../src/adapters/endpoints/worker-pool/worker-pool-client.js')> =>
  (await import(pathToFileURL(join(SRC, 'adapters/endpoints/worker-pool/worker-pool-client.js')).href)) as typeof import('../src/adapters/endpoints/worker-pool/worker-pool-client.js')

const PROMPT = 'Write a long story about a lighthouse keeper who measures the sea.'

async function checkClock(port: number): Promise<ClockCheck> {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 })
  let inside = 0
  let maxAbs = 0
  let minRtt = Number.POSITIVE_INFINITY
  const samples = 30
  try {
    for (let i = 0; i < samples; i++) {
      const t0 = process.hrtime.bigint()
      const res = await pool.request({ path: '/__clock', method: 'GET' })
      const body = (await res.body.json()) as { monotonicNs: string }
      const t1 = process.hrtime.bigint()
      const s = BigInt(body.monotonicNs)
      if (s >= t0 && s <= t1) inside++
      const mid = (t0 + t1) / 2n
      const off = Math.abs(Number(s - mid))
      if (off > maxAbs) maxAbs = off
      minRtt = Math.min(minRtt, Number(t1 - t0))
    }
  } finally {
    await pool.close()
  }
  return { samples, inside, maxAbsOffsetNs: maxAbs, minRoundTripNs: minRtt }
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat; null off Linux. */
function procCpuS(pid: number | null): number | null {
  if (pid === null) return null
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // fields[11] and [12] are utime and stime (fields 14 and 15 of proc(5)), in clock ticks
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S
  } catch {
    return null
  }
}
/** USER_HZ; 100 on every mainstream Linux build. */
const CLOCK_TICKS_PER_S = 100

function inferenceRequest(seq: number, userId: number, maxTokens: number, phase: 'warmup' | 'measure'): InferenceRequest {
  return { seq, phase, userId, scheduledAtNs: null, text: `tw-seq:${seq} ${PROMPT}`, messages: null, maxTokens, targetInputTokens: null }
}

/** Counts `\n\n` (event ends) across network chunks. */
function countEvents(buf: Buffer, lastWasLf: boolean): { events: number; lastWasLf: boolean } {
  let events = 0
  let i = 0
  if (lastWasLf && buf.length > 0 && buf[0] === 0x0a) {
    events++
    i = 1
  }
  for (;;) {
    const j = buf.indexOf('\n\n', i, 'latin1')
    if (j === -1) break
    events++
    i = j + 2
  }
  return { events, lastWasLf: buf.length > 0 && buf[buf.length - 1] === 0x0a && i !== buf.length }
}

async function main(): Promise<void> {
  const [taskPath, resultPath] = process.argv.slice(2)
  if (taskPath === undefined || resultPath === undefined) throw new Error('usage: client-worker.ts TASK.json RESULT.json')
  const task = JSON.parse(readFileSync(taskPath, 'utf8')) as WorkerTask
  const clockCheck = await checkClock(task.port)
  const clock = new NodeClock()
  const origin = `http://127.0.0.1:${task.port}`

  let rssMax = 0
  const rssTimer = setInterval(() => {
    rssMax = Math.max(rssMax, process.memoryUsage.rss())
  }, 100)
  const eld = monitorEventLoopDelay({ resolution: 5 })

  const errors: Record<string, number> = {}
  let requests = 0
  let wrongTokenCount = 0
  let seqNext = 0
  let stopping = false
  let openedBeforeMeasure = 0
  let windowOpen = false
  let windowStartNs = 0
  let windowEndNs = 0
  /** Inside the counted window: after it opened and, once it closed, not after its end. */
  const inWindow = (t: number): boolean => windowOpen && t >= windowStartNs && (windowEndNs === 0 || t <= windowEndNs)
  let cpuAtStart = process.cpuUsage()
  let cpuInWindow = { user: 0, system: 0 }
  let serverCpuAtStart: number | null = null
  let serverCpuInWindow: number | null = null
  let tokensInWindow = 0
  const kept: SlimRecord[] = []

  // Window bounds: taken when the timer actually fires, with the CPU reading at the same moment.
  const openWindow = (): void => {
    windowStartNs = clock.nowNs()
    windowOpen = true
    cpuAtStart = process.cpuUsage()
    serverCpuAtStart = procCpuS(task.serverPid)
    eld.enable()
  }
  const closeWindow = (): void => {
    windowEndNs = clock.nowNs()
    cpuInWindow = process.cpuUsage(cpuAtStart)
    const serverCpuNow = procCpuS(task.serverPid)
    serverCpuInWindow = serverCpuNow !== null && serverCpuAtStart !== null ? serverCpuNow - serverCpuAtStart : null
    eld.disable()
    stopping = true
  }

  let client: InferenceClient | null = null
  if (task.client === 'tokenwatt') {
    const options = { baseUrl: origin, model: 'bench', clock, requireUsage: true }
    const workers = task.workers ?? 1
    client = workers === 1 ? new OpenAIStreamClient(options) : new (await loadWorkerPool()).WorkerPoolClient({ client: options, workers })
    await client.preflight()
    await client.warmConnections(task.streams)
    const onRecord = (rec: RequestRecord): void => {
      if (rec.phase !== 'measure') return
      requests++
      if (rec.error !== null) errors[rec.error.kind] = (errors[rec.error.kind] ?? 0) + 1
      else if (rec.outputTokens !== task.outputTokens || rec.chunkAtNs.length !== task.outputTokens) wrongTokenCount++
      if (task.mode === 'throughput') {
        for (const t of rec.chunkAtNs) if (inWindow(t)) tokensInWindow++
      } else {
        kept.push({ seq: rec.seq, sentAtNs: rec.sentAtNs, headersAtNs: rec.headersAtNs, chunkAtNs: rec.chunkAtNs, outputTokens: rec.outputTokens, error: rec.error?.kind ?? null })
      }
    }
    const c = client
    // one short request per stream: JIT warm-up and every keep-alive connection used once
    await Promise.all(Array.from({ length: task.streams }, (_, u) => c.send(inferenceRequest(seqNext++, u, 8, 'warmup'))))
    openedBeforeMeasure = c.connectionStats().opened
    const user = async (u: number): Promise<void> => {
      for (let k = 0; task.mode === 'throughput' ? !stopping : k < task.requestsPerStream; k++) {
        onRecord(await c.send(inferenceRequest(seqNext++, u, task.outputTokens, 'measure')))
      }
    }
    if (task.mode === 'throughput') {
      setTimeout(openWindow, task.warmupS * 1000)
      setTimeout(closeWindow, (task.warmupS + task.windowS) * 1000)
    } else openWindow()
    await Promise.all(Array.from({ length: task.streams }, (_, u) => user(u)))
    if (task.mode === 'accuracy') closeWindow()
  } else {
    const pool = new Pool(origin, { connections: task.streams, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 0, bodyTimeout: 0 })
    const headers = { 'content-type': 'application/json' }
    // The floor any Node client on this machine can reach: undici's dispatch API with a handler that
    // takes one clock reading per body chunk and counts events by their blank lines, no JSON. "Sent"
    // is when undici writes the request (onRequestStart), as in tokenwatt's client, so both leave out
    // the loop turn undici waits before reusing an idle keep-alive socket.
    // Chat streams are: role, N tokens, usage, [DONE].
    const one = (seq: number, maxTokens: number, measured: boolean): Promise<void> => {
      const body = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: `tw-seq:${seq} ${PROMPT}` }], max_tokens: maxTokens, stream: true, stream_options: { include_usage: true } })
      const keepTimes = measured && task.mode === 'accuracy'
      const eventAtNs: number[] = []
      let sentAtNs = clock.nowNs()
      let headersAtNs: number | null = null
      let status = 0
      let lastWasLf = false
      let events = 0
      return new Promise<void>((resolve, reject) => {
        const handler: Dispatcher.DispatchHandler = {
          onRequestStart: () => {
            sentAtNs = clock.nowNs()
          },
          onResponseStart: (_c, statusCode) => {
            headersAtNs = clock.nowNs()
            status = statusCode
          },
          onResponseData: (_c, b: Buffer) => {
            const t = clock.nowNs()
            const r = countEvents(b, lastWasLf)
            lastWasLf = r.lastWasLf
            events += r.events
            if (keepTimes) for (let k = 0; k < r.events; k++) eventAtNs.push(t)
            else if (measured && inWindow(t)) tokensInWindow += r.events
          },
          onResponseEnd: () => {
            setImmediate(resolve) // let undici hand the socket back before the next request
          },
          onResponseError: (_c, err) => reject(err),
        }
        pool.dispatch({ origin, path: '/v1/chat/completions', method: 'POST', headers, body }, handler)
      }).then(() => {
        if (!measured) return
        requests++
        // role, usage and [DONE] are events but not tokens; they bracket each response
        if (!keepTimes && inWindow(clock.nowNs())) tokensInWindow -= 3
        const error = status !== 200 ? 'http_status' : null
        if (error !== null) errors[error] = (errors[error] ?? 0) + 1
        else if (events !== maxTokens + 3) wrongTokenCount++
        if (keepTimes) kept.push({ seq, sentAtNs, headersAtNs, chunkAtNs: eventAtNs.slice(1, 1 + maxTokens), outputTokens: events - 3, error })
      })
    }
    await Promise.all(Array.from({ length: task.streams }, () => one(seqNext++, 8, false)))
    const user = async (): Promise<void> => {
      for (let k = 0; task.mode === 'throughput' ? !stopping : k < task.requestsPerStream; k++) await one(seqNext++, task.outputTokens, true)
    }
    if (task.mode === 'throughput') {
      setTimeout(openWindow, task.warmupS * 1000)
      setTimeout(closeWindow, (task.warmupS + task.windowS) * 1000)
    } else openWindow()
    await Promise.all(Array.from({ length: task.streams }, () => user()))
    if (task.mode === 'accuracy') closeWindow()
    await pool.close()
  }

  clearInterval(rssTimer)
  rssMax = Math.max(rssMax, process.memoryUsage.rss(), process.resourceUsage().maxRSS * 1024)
  const stats = client?.connectionStats()
  if (task.recordsPath !== null) {
    const file: RecordsFile = { epochHr: clock.epochHr.toString(), records: kept }
    writeFileSync(task.recordsPath, JSON.stringify(file))
  }
  await client?.close()

  const windowS = (windowEndNs - windowStartNs) / 1e9
  const cpuS = (cpuInWindow.user + cpuInWindow.system) / 1e6
  const connectMs = [...(stats?.connectMs ?? [])].sort((a, b) => a - b)
  const result: WorkerResult = {
    task,
    requests,
    errors,
    wrongTokenCount,
    windowS,
    tokensInWindow,
    tokensPerS: tokensInWindow / windowS,
    cpuS,
    cpuSysS: cpuInWindow.system / 1e6,
    cpuUsPerToken: tokensInWindow > 0 ? (cpuS * 1e6) / tokensInWindow : 0,
    cpuShare: cpuS / windowS,
    serverCpuShare: serverCpuInWindow === null ? null : serverCpuInWindow / windowS,
    maxRssMB: rssMax / 2 ** 20,
    eventLoopDelayMs: { p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6 },
    connections: { openedBeforeMeasure, openedAfter: stats?.opened ?? 0, connectMsMedian: connectMs.length > 0 ? (connectMs[Math.floor(connectMs.length / 2)] ?? null) : null },
    clockCheck,
    chunkStamps: client === null ? null : `${client.chunkTimestamps.source}${client.chunkTimestamps.fallback !== undefined ? ` (${client.chunkTimestamps.fallback})` : ''}`,
  }
  writeFileSync(resultPath, JSON.stringify(result))
}

await main()
