import type { BenchConfig } from '../config/bench-schema.js'
import type { ChunkTimestamps, ClientMonitorResult, ConnectionStats, MeterInfo } from '../ports.js'
import type { PowerSample, RequestRecord, TokenSource } from '../records.js'
import { REQUEST_ERROR_KINDS } from '../records.js'
import { RUN_SCHEMA, type RunSummary } from '../summary.js'
import { nsToMs, nsToS } from '../units.js'
import { describe, EMPTY_STATS, percentileSorted } from './stats.js'
import { effectiveChunkTokens, interTokenGapsNs, latencySamples, requestsEndedIn, requestTimings } from './request-metrics.js'
import { countGood, hasSloBounds } from './slo.js'
import { findSteadyWindow, type WindowNs } from './steady-window.js'
import { findPowerSettle } from './power-settle.js'
import { judgeValidity } from './validity.js'
import { findSessionSteadyWindow } from './session-window.js'

/** Everything the analysis needs, as plain data: a stored run can be re-analysed from the same inputs. */
export interface AnalysisInput {
  readonly id: string
  readonly startedAt: string
  readonly endedAt: string
  readonly status: RunSummary['status']
  readonly toolVersion: string
  readonly config: BenchConfig
  readonly target: RunSummary['target']
  readonly workload: unknown
  readonly records: readonly RequestRecord[]
  readonly powerSamples: readonly PowerSample[]
  readonly meters: readonly MeterInfo[]
  readonly idleWindowNs: { readonly startNs: number; readonly endNs: number } | null
  readonly connections: ConnectionStats
  readonly droppedArrivals: number
  readonly clientMonitor: ClientMonitorResult | null
  /** How the client stamped chunks (said in the summary); omitted where no client streamed. */
  readonly chunkTimestamps?: ChunkTimestamps
  readonly warnings: readonly string[]
}

/** Client CPU (cores) above which the load generator may be what limits the run. */
const CLIENT_CPU_LIMIT = 0.9
/** Event-loop delay p99 (ms) above which chunk arrival times may be late. */
const CLIENT_EVENT_LOOP_LIMIT_MS = 20

/**
 * The steady window moved on to where power has settled too (`settlePower`): after a knob change the
 * token rate can be steady while the power still moves. Kept as it is, with a warning, when power is
 * too sparse to judge or the settled part holds no completed request.
 */
function settleOnPower(win: WindowNs, samples: readonly PowerSample[], measured: readonly RequestRecord[], warnings: string[]): WindowNs & { powerTrimS?: number } {
  if (win.method === 'empty' || win.method === 'whole-run') return win
  const settle = findPowerSettle(samples, win.startNs, win.endNs)
  if (settle === null) {
    warnings.push('settlePower: too few power readings inside the window to judge whether power had settled (at least 10 per channel); the window was left as the load found it')
    return win
  }
  if (settle.startNs <= win.startNs) return { ...win, method: `${win.method}+power-mser5`, powerTrimS: 0 }
  const completed = measured.some((r) => r.lastByteAtNs !== null && r.lastByteAtNs >= settle.startNs && r.lastByteAtNs <= win.endNs)
  if (!completed) {
    warnings.push('settlePower: power had not settled before the load ended (no request completed after it settled); the window was left as the load found it')
    return win
  }
  return { ...win, startNs: settle.startNs, method: `${win.method}+power-mser5`, powerTrimS: nsToS(settle.startNs - win.startNs) }
}

/** Turns a run's raw records into its `tokenwatt.run/v1` summary. Pure: same input, same output. */
export function analyzeRun(input: AnalysisInput): RunSummary {
  const warnings: string[] = [...input.warnings]
  const cfg = input.config
  const measured = input.records.filter((r) => r.phase === 'measure')
  const warmup = input.records.length - measured.length
  const load = cfg.load
  const loadWin =
    cfg.workload.sessions !== undefined || measured.some((r) => r.sessionId !== undefined)
      ? findSessionSteadyWindow(measured, load.type === 'closed-loop' ? load.concurrency : null)
      : findSteadyWindow({
          records: measured,
          // a trace is its own arrival process: judged as an open loop
          loadType: cfg.workload.trace !== undefined ? 'constant' : load.type,
          concurrency: load.type === 'closed-loop' && cfg.workload.trace === undefined ? load.concurrency : null,
        })
  if (loadWin.warning) warnings.push(loadWin.warning)
  const win: WindowNs & { powerTrimS?: number } = cfg.settlePower ? settleOnPower(loadWin, input.powerSamples, measured, warnings) : loadWin
  const durationNs = Math.max(0, win.endNs - win.startNs)
  const durationS = nsToS(durationNs)
  const inWin = (t: number): boolean => t >= win.startNs && t <= win.endNs

  // Requests that ended inside the window carry the request-level figures.
  const ended = requestsEndedIn(measured, win.startNs, win.endNs)
  const ok = ended.filter((r) => r.error === null)
  const errorsByKind: Record<string, number> = {}
  for (const k of REQUEST_ERROR_KINDS) errorsByKind[k] = 0
  let failed = 0
  let aborted = 0
  let missingUsage = 0
  for (const r of measured) {
    if (r.error) {
      // Requests the run itself cancelled (Ctrl-C) are kept and counted, but are not server failures.
      if (r.error.kind === 'aborted') aborted++
      else failed++
      errorsByKind[r.error.kind] = (errorsByKind[r.error.kind] ?? 0) + 1
    } else if (r.tokenSource === 'client-count') {
      missingUsage++
    }
  }

  // Tokens are counted by arrival time inside the window, not by request completion.
  let outputInWin = 0
  let inputInWin = 0
  for (const r of measured) {
    const tokens = effectiveChunkTokens(r)
    for (let i = 0; i < r.chunkAtNs.length; i++) if (inWin(r.chunkAtNs[i] as number)) outputInWin += tokens[i] ?? 1
    const first = r.chunkAtNs[0]
    if (first !== undefined && inWin(first) && r.inputTokens !== null) inputInWin += r.inputTokens
  }

  const { ttftMs: ttft, e2eMs: e2e, tpotMs: tpot, interactivityTokPerS: inter } = latencySamples(ok)
  const itl: number[] = []
  const inTok: number[] = []
  const outTok: number[] = []
  const sources = new Set<TokenSource>()
  const slo = cfg.slo
  for (const r of ok) {
    const t = requestTimings(r)
    sources.add(r.tokenSource)
    interTokenGapsNs(r, itl)
    if (r.inputTokens !== null) inTok.push(r.inputTokens)
    outTok.push(t.outputTokens)
  }
  const { good, goodOutputTokens: goodOutput } = countGood(ok, slo)
  const latency = {
    ttftMs: describe(ttft),
    itlMs: describe(itl.map(nsToMs)),
    tpotMs: describe(tpot),
    e2eMs: describe(e2e),
    interactivityTokPerS: describe(inter),
  }
  const hasSlo = hasSloBounds(slo)
  const attainment = hasSlo && ended.length > 0 ? good / ended.length : null
  const passed = hasSlo ? sloPassed(slo, { ttftMs: ttft, tpotMs: tpot, e2eMs: e2e }, attainment) : null

  const scheduleLag = measured.filter((r) => r.scheduledAtNs !== null).map((r) => nsToMs(r.sentAtNs - (r.scheduledAtNs as number)))
  const conn = input.connections
  const openedInWindow = (conn.connectedAtNs ?? []).filter(inWin).length
  if (openedInWindow > 0) warnings.push(`${openedInWindow} connection(s) were opened inside the window; their set-up time is inside those requests' TTFT`)
  const mon = input.clientMonitor
  // With load threads (--workers) the busiest thread is the limit, not the process's sum over threads.
  const threads = mon?.threads
  const busiestThread = threads !== undefined && threads.utilization.length > 0 ? Math.max(...threads.utilization) : null
  const cpuLimited = busiestThread !== null ? busiestThread >= CLIENT_CPU_LIMIT : (mon?.cpuUtilization ?? 0) >= CLIENT_CPU_LIMIT
  const limitedByClient = mon !== null && (cpuLimited || (mon.eventLoopDelayP99Ms ?? 0) >= CLIENT_EVENT_LOOP_LIMIT_MS)
  if (limitedByClient) {
    const cpu = busiestThread !== null ? `busiest of ${threads?.count} load threads ${fmt(busiestThread * 100, 0)} % busy` : `client CPU ${fmt(mon?.cpuUtilization, 2)} cores`
    const more = threads?.mode !== 'auto' && (threads !== undefined || cpuLimited) ? ' (--workers auto spreads the load over more cores)' : ''
    warnings.push(`the load generator may have been the limit: ${cpu}, event-loop delay p99 ${fmt(mon?.eventLoopDelayP99Ms, 1)} ms; latency may be overstated${more}`)
  }
  for (const a of threads?.added ?? []) {
    if (inWin(a.atNs)) warnings.push(`a load thread was added inside the window, ${fmt(nsToS(a.atNs - win.startNs), 1)} s after it opened (${a.reason}); chunks before it may be stamped late`)
  }
  if (input.droppedArrivals > 0) {
    const what = cfg.workload.sessions !== undefined ? 'session arrival(s) were dropped: load.maxConcurrency sessions were in flight' : 'arrival(s) were dropped: more than load.maxConcurrency requests were in flight'
    warnings.push(`${input.droppedArrivals} ${what}`)
  }
  if (missingUsage > 0) warnings.push(`${missingUsage} request(s) had no server usage; their tokens were counted from content chunks`)
  if (ok.length === 0 && measured.length > 0) warnings.push('no request succeeded inside the window')

  const tokenSource: RunSummary['tokens']['source'] = sources.size === 1 ? ([...sources][0] as TokenSource) : sources.size === 0 ? 'client-count' : 'mixed'
  const validity = judgeValidity({ succeeded: measured.length - failed - aborted, failed }, cfg.maxErrorRate)
  for (const reason of validity.reasons) warnings.push(`run invalid: ${reason}; its figures describe failures, not the system`)
  const targetIn = measured.map((r) => r.targetInputTokens).filter((x): x is number => x !== null)
  const targetOut = measured.map((r) => r.targetOutputTokens).filter((x): x is number => x !== null)

  return {
    schema: RUN_SCHEMA,
    id: input.id,
    startedAt: input.startedAt,
    endedAt: input.endedAt,
    status: input.status,
    tool: { name: 'tokenwatt', version: input.toolVersion },
    target: input.target,
    workload: input.workload,
    config: input.config,
    window: { startS: nsToS(win.startNs), endS: nsToS(win.endNs), durationS, method: win.method, ...(win.powerTrimS !== undefined ? { powerTrimS: win.powerTrimS } : {}) },
    requests: {
      total: measured.length,
      succeeded: measured.length - failed - aborted,
      failed,
      aborted,
      warmup,
      inWindow: ended.length,
      errorsByKind,
      missingUsage,
      droppedArrivals: input.droppedArrivals,
    },
    tokens: {
      input: inputInWin,
      output: outputInWin,
      source: tokenSource,
      inputPerRequest: describe(inTok),
      outputPerRequest: describe(outTok),
      targetInputMean: mean(targetIn),
      targetOutputMean: mean(targetOut),
    },
    throughput: {
      outputTokensPerS: durationS > 0 ? outputInWin / durationS : 0,
      totalTokensPerS: durationS > 0 ? (outputInWin + inputInWin) / durationS : 0,
      requestsPerS: durationS > 0 ? ok.length / durationS : 0,
    },
    latency,
    slo: {
      ...(slo.ttftMs !== undefined ? { ttftMs: slo.ttftMs } : {}),
      ...(slo.tpotMs !== undefined ? { tpotMs: slo.tpotMs } : {}),
      ...(slo.e2eMs !== undefined ? { e2eMs: slo.e2eMs } : {}),
      attainment,
      goodputRequestsPerS: hasSlo && durationS > 0 ? good / durationS : null,
      goodOutputTokensPerS: hasSlo && durationS > 0 ? goodOutput / durationS : null,
      passed,
    },
    load: {
      type: load.type,
      concurrency: load.type === 'closed-loop' ? load.concurrency : null,
      rate: load.type === 'closed-loop' ? null : load.rate,
      scheduleLagMs: scheduleLag.length > 0 ? describe(scheduleLag) : EMPTY_STATS,
      meanInFlight: durationNs > 0 ? meanInFlight(measured, win.startNs, win.endNs) : null,
    },
    client: {
      connectionsOpened: conn.opened,
      connectionsOpenedInWindow: openedInWindow,
      connectMs: describe(conn.connectMs),
      staleConnectionRetries: conn.staleRetries ?? 0,
      cpuUtilization: mon?.cpuUtilization ?? null,
      eventLoopDelayP99Ms: mon?.eventLoopDelayP99Ms ?? null,
      limitedByClient,
      ...(threads !== undefined ? { workers: { count: threads.count, mode: threads.mode, utilization: threads.utilization, added: threads.added.map((a) => ({ atS: nsToS(a.atNs), reason: a.reason })) } } : {}),
      ...(input.chunkTimestamps !== undefined ? { chunkTimestamps: input.chunkTimestamps } : {}),
    },
    power: null,
    efficiency: null,
    cost: null,
    validity,
    tasks: null,
    warnings,
  }
}

function sloPassed(slo: BenchConfig['slo'], values: { ttftMs: number[]; tpotMs: number[]; e2eMs: number[] }, attainment: number | null): boolean {
  const check = (bound: number | undefined, xs: number[]): boolean => {
    if (bound === undefined) return true
    const v = percentileSorted(Float64Array.from(xs).sort(), slo.percentile)
    return v !== null && v <= bound
  }
  const attained = slo.minAttainment === undefined || (attainment !== null && attainment >= slo.minAttainment)
  return check(slo.ttftMs, values.ttftMs) && check(slo.tpotMs, values.tpotMs) && check(slo.e2eMs, values.e2eMs) && attained
}

/** Time-weighted mean number of requests in flight over [from, to]. */
export function meanInFlight(rs: readonly RequestRecord[], fromNs: number, toNs: number): number {
  let busyNs = 0
  for (const r of rs) {
    const a = Math.max(fromNs, r.sentAtNs)
    const b = Math.min(toNs, r.lastByteAtNs ?? r.sentAtNs)
    if (b > a) busyNs += b - a
  }
  return busyNs / (toNs - fromNs)
}

function mean(xs: readonly number[]): number | null {
  if (xs.length === 0) return null
  let s = 0
  for (const x of xs) s += x
  return s / xs.length
}

function fmt(x: number | null | undefined, digits: number): string {
  return x === null || x === undefined ? 'n/a' : x.toFixed(digits)
}
