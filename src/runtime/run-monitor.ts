import type { MonitorConfig } from '../core/config/monitor-schema.js'
import { AlertTracker, type AlertFigure, type AlertRule } from '../core/monitor/alert-rule.js'
import type { ServerMetricsSource } from '../core/monitor/metrics-source.js'
import { MONITOR_WINDOWS, type MonitorSnapshot } from '../core/monitor/monitor-snapshot.js'
import { MonitorState, type MonitorTick, type TargetScrape } from '../core/monitor/monitor-state.js'
import { MONITOR_RUN_KIND, monitorSummary, windowFigures, type WindowFigures } from '../core/monitor/monitor-summary.js'
import type { ServerMetricsMapping } from '../core/monitor/server-presets.js'
import { windowTotals } from '../core/monitor/rolling-window.js'
import type { Clock, EventSink, PowerMeter } from '../core/ports.js'
import type { PowerSample } from '../core/records.js'
import type { ResultsStore } from '../core/store.js'
import type { RunSummary } from '../core/summary.js'
import { sToNs } from '../core/units.js'

export interface MonitorDeps {
  readonly clock: Clock
  readonly source: ServerMetricsSource
  readonly mapping: ServerMetricsMapping & { readonly server: string }
  readonly meters: readonly PowerMeter[]
  readonly store: ResultsStore
  readonly events: EventSink
  /** Aborted on Ctrl-C: the session ends and its summary is written. */
  readonly signal: AbortSignal
  readonly runId: string
  readonly toolVersion: string
  readonly configForRecord: unknown
  readonly capacity: { readonly runId: string; readonly outputTokensPerS: number } | null
  readonly alerts: readonly AlertRule[]
  /** Called after every scrape round with the rolling figures. */
  readonly onSnapshot?: (s: MonitorSnapshot) => void
}

export interface MonitorResult {
  readonly summary: RunSummary
  readonly ticks: readonly MonitorTick[]
  readonly samples: readonly PowerSample[]
}

/** Samples kept before a window's start, so counter meters have a reading that brackets it. */
const SAMPLE_MARGIN_NS = 30e9

/**
 * Watches production traffic: every `intervalS` one scrape round of the servers' counters, the
 * meters sampling beside it, both written to the store as they come; rolling 1 min / 15 min / 1 h /
 * whole-session figures through the same energy and cost analysis as `bench`; alert rules evaluated on
 * the 1-minute figures. Ends at `durationS` or on abort, with the session's summary stored.
 */
export async function runMonitor(config: MonitorConfig, deps: MonitorDeps): Promise<MonitorResult> {
  const { clock, store, source, signal } = deps
  const startedAt = new Date(clock.wallMs()).toISOString()
  const epochWallMs = clock.wallMs() - clock.nowNs() / 1e6
  for (const m of deps.meters) await m.preflight()
  const first = await source.preflight()
  const model = config.model ?? modelOf(first, deps.mapping.outputTokens.metric) ?? 'unknown'
  const endpoint = config.source.type === 'prometheus' ? config.source.url : config.source.urls.join(',')
  store.createRun({
    id: deps.runId,
    startedAt,
    epochWallMs,
    toolVersion: deps.toolVersion,
    config: { kind: MONITOR_RUN_KIND, ...(deps.configForRecord as Record<string, unknown>) },
    target: { endpoint, api: 'chat', model, server: deps.mapping.server },
    labels: { ...config.labels, kind: MONITOR_RUN_KIND },
    meters: deps.meters.map((m) => m.info),
  })

  const state = new MonitorState(deps.mapping)
  const trackers = deps.alerts.map((r) => new AlertTracker(r))
  const samples: PowerSample[] = []
  let unflushedSamples: PowerSample[] = []
  let unflushedTicks: MonitorTick[] = []
  const latest = new Map<string, PowerSample>()
  const onSample = (s: PowerSample): void => {
    samples.push(s)
    unflushedSamples.push(s)
    if (s.powerW !== null) latest.set(`${s.meterId}\u0000${s.channel}`, s)
  }
  const ingest = (atNs: number, scrapes: readonly TargetScrape[]): void => {
    unflushedTicks.push(state.ingest(atNs, scrapes))
    store.appendMonitorTicks(deps.runId, unflushedTicks)
    store.appendPowerSamples(deps.runId, unflushedSamples)
    unflushedTicks = []
    unflushedSamples = []
  }
  const summarize = (lengthS: number | null, status: RunSummary['status'], extra?: Record<string, unknown>): { summary: RunSummary; totals: NonNullable<ReturnType<typeof windowTotals>> } | null => {
    const totals = windowTotals(state.allTicks(), lengthS === null ? null : sToNs(lengthS))
    if (totals === null) return null
    const from = totals.startNs - SAMPLE_MARGIN_NS
    const to = totals.endNs + SAMPLE_MARGIN_NS
    const summary = monitorSummary({
      id: deps.runId,
      startedAt,
      endedAt: new Date(clock.wallMs()).toISOString(),
      status,
      toolVersion: deps.toolVersion,
      config,
      configForRecord: deps.configForRecord,
      endpoint,
      model,
      server: deps.mapping.server,
      totals,
      targets: state.targets(),
      samples: lengthS === null ? samples : samples.filter((s) => s.atNs >= from && s.atNs <= to),
      meters: deps.meters.map((m) => m.info),
      epochWallMs,
      capacity: deps.capacity,
      warnings: [],
      ...(extra ? { extra } : {}),
    })
    return { summary, totals }
  }

  const started: PowerMeter[] = []
  const status: RunSummary['status'] = 'complete'
  let lastWindows: WindowFigures[] = []
  try {
    for (const m of deps.meters) {
      await m.start(onSample)
      started.push(m)
    }
    const startNs = clock.nowNs()
    const endNs = config.durationS !== undefined ? startNs + sToNs(config.durationS) : Infinity
    const first = await source.round()
    ingest(first.atNs, first.scrapes)
    let next = startNs
    let allRefreshedNs = startNs
    while (!signal.aborted) {
      next = Math.min(next + sToNs(config.intervalS), endNs)
      await clock.sleepUntil(next, signal)
      if (signal.aborted) break
      const r = await source.round()
      ingest(r.atNs, r.scrapes)
      const previous = lastWindows
      lastWindows = []
      for (const w of MONITOR_WINDOWS) {
        // The since-start window re-reads every sample; past an hour it is refreshed once a minute.
        const stale = previous.find((p) => p.window === w.name)
        if (w.lengthS === null && stale && r.atNs - startNs > 3600e9 && r.atNs - allRefreshedNs < 60e9) {
          lastWindows.push(stale)
          continue
        }
        const s = summarize(w.lengthS, 'complete')
        if (s) lastWindows.push(windowFigures(w.name, s.totals, s.summary))
        if (w.lengthS === null) allRefreshedNs = r.atNs
      }
      const oneMinute = lastWindows[0]
      for (const t of trackers) {
        const wasFiring = t.state === 'firing'
        const change = t.evaluate(r.atNs, oneMinute ? alertValue(t.rule.figure, oneMinute) : null)
        const now = t.value === null ? 'n/a' : t.value.toPrecision(4)
        if (change === 'firing') deps.events.emit({ type: 'warning', message: `alert FIRING: ${t.rule.text} (now ${now})` })
        else if (change !== null && wasFiring) deps.events.emit({ type: 'info', message: `alert resolved (${change}): ${t.rule.text} (now ${now})` })
      }
      deps.onSnapshot?.(snapshot(deps.runId, r.atNs, lastWindows, latest, deps.meters, state, trackers))
      if (clock.nowNs() >= endNs) break
    }
    // Ctrl-C is how a monitor session without --duration ends: the session is complete up to then.
  } catch (e) {
    for (const m of started) await m.stop().catch(() => undefined)
    store.finishRun(deps.runId, 'failed', null)
    throw e
  }
  for (const m of started) await m.stop().catch(() => undefined)
  store.appendPowerSamples(deps.runId, unflushedSamples)
  const alerts = trackers.map((t) => ({ rule: t.rule.text, state: t.state, value: t.value }))
  const final = summarize(null, status, { windows: lastWindows, alerts, preset: config.preset, mapping: deps.mapping, source: source.description })
  if (final === null) {
    store.finishRun(deps.runId, status, null)
    throw new Error('the monitor session ended before a second scrape round: nothing to summarise')
  }
  store.finishRun(deps.runId, status, final.summary)
  return { summary: final.summary, ticks: state.allTicks(), samples }
}

function alertValue(f: AlertFigure, w: WindowFigures): number | null {
  switch (f) {
    case 'tokens_per_joule':
      return w.outputTokensPerJoule
    case 'joules_per_token':
      return w.joulesPerOutputToken
    case 'output_tokens_per_s':
      return w.outputTokensPerS
    case 'usd_per_million_tokens':
      return w.usdPerMillionOutputTokens
    case 'power_w':
      return w.powerW
    case 'utilization':
      return w.utilization
    case 'idle_share':
      return w.idleShare
    case 'ttft_p99_ms':
      return w.latency.ttft?.p99Ms ?? null
    case 'itl_p99_ms':
      return w.latency.itl?.p99Ms ?? null
    case 'e2e_p99_ms':
      return w.latency.e2e?.p99Ms ?? null
  }
}

function snapshot(
  runId: string,
  atNs: number,
  windows: readonly WindowFigures[],
  latest: ReadonlyMap<string, PowerSample>,
  meters: readonly PowerMeter[],
  state: MonitorState,
  trackers: readonly AlertTracker[],
): MonitorSnapshot {
  const boundaryOf = new Map(meters.map((m) => [m.info.id, m.info.boundary]))
  const ticks = state.allTicks()
  let out = 0
  let inp = 0
  for (const t of ticks) {
    out += t.outputTokens
    inp += t.inputTokens
  }
  return {
    runId,
    atNs,
    windows,
    power: [...latest.values()].map((s) => ({ meter: s.meterId, boundary: boundaryOf.get(s.meterId) ?? 'device', channel: s.channel, powerW: s.powerW as number })),
    targets: state.targets().map((t) => ({ ...t })),
    alerts: trackers.map((t) => ({ rule: t.rule.text, state: t.state, value: t.value })),
    outputTokensTotal: out,
    inputTokensTotal: inp,
    running: ticks[ticks.length - 1]?.running ?? null,
  }
}

/** The `model_name`/`model` label of the output-token series, when the servers give one. */
function modelOf(scrapes: readonly TargetScrape[], metric: string): string | null {
  for (const s of scrapes) for (const v of s.samples) if (v.name === metric) return v.labels.model_name ?? v.labels.model ?? null
  return null
}
