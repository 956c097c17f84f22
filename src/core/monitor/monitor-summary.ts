/**
 * A monitor window as a `tokenwatt.run/v1` summary: tokens and throughput from the servers'
 * counters, latency percentiles from their histograms, then power, efficiency and cost through the
 * same `finishSummary` as `bench` (same attribution, same cost model). Fields that only a load
 * generator can know (per-request records, client connections, SLO attainment) are empty or null.
 */
import { EMPTY_STATS } from '../analysis/stats.js'
import { finishSummary, type FinishInput } from '../analysis/finish-summary.js'
import type { MeterInfo } from '../ports.js'
import type { PowerSample } from '../records.js'
import { RUN_SCHEMA, type RunSummary, type Stats } from '../summary.js'
import type { LatencyQuantiles, WindowTotals } from './rolling-window.js'
import type { TargetStatus } from './monitor-state.js'

export const MONITOR_RUN_KIND = 'monitor'

export interface MonitorSummaryInput {
  readonly id: string
  readonly startedAt: string
  readonly endedAt: string
  readonly status: RunSummary['status']
  readonly toolVersion: string
  /** The resolved monitor config (secrets removed); `boundary`, `attribution`, `cost` drive the energy and cost. */
  readonly config: FinishInput['config'] & Record<string, unknown>
  readonly configForRecord: unknown
  readonly endpoint: string
  readonly model: string
  readonly server: string
  readonly totals: WindowTotals
  readonly targets: readonly TargetStatus[]
  readonly samples: readonly PowerSample[]
  readonly meters: readonly MeterInfo[]
  readonly epochWallMs: number | null
  /** Best output tokens/s a bench of the same system measured, for utilisation. */
  readonly capacity: { readonly runId: string; readonly outputTokensPerS: number } | null
  readonly warnings: readonly string[]
  /** Extra fields of the `monitor` section (windows, alerts). */
  readonly extra?: Record<string, unknown>
}

/** Builds the summary of one window (the whole session for summary.json, a rolling window live). */
export function monitorSummary(input: MonitorSummaryInput): RunSummary {
  const t = input.totals
  const d = t.durationS
  const warnings = [...input.warnings]
  for (const s of input.targets) {
    if (s.scrapeErrors > 0) warnings.push(`replica ${s.target}: ${s.scrapeErrors} of ${s.scrapes} scrape(s) failed (last: ${s.lastError ?? 'unknown'}); tokens it counted meanwhile are credited when it answers again`)
    if (s.counterResets > 0) warnings.push(`replica ${s.target}: ${s.counterResets} counter reset(s) (restarted?); counted from zero after each, as Prometheus increase() does`)
    if (s.missingOutputMetric > 0 && s.scrapes - s.scrapeErrors > 0) warnings.push(`replica ${s.target}: the output-token series was absent in ${s.missingOutputMetric} scrape(s); check --preset or the mapping`)
    if (s.parseErrors > 0) warnings.push(`replica ${s.target}: ${s.parseErrors} /metrics line(s) did not parse`)
  }
  const outTps = d > 0 ? t.outputTokens / d : 0
  const base: RunSummary = {
    schema: RUN_SCHEMA,
    id: input.id,
    startedAt: input.startedAt,
    endedAt: input.endedAt,
    status: input.status,
    tool: { name: 'tokenwatt', version: input.toolVersion },
    target: { endpoint: input.endpoint, api: 'chat', model: input.model, server: input.server },
    workload: { kind: MONITOR_RUN_KIND, description: 'production traffic observed through the servers\' own counters (no synthetic load)' },
    config: input.configForRecord,
    window: { startS: t.startNs / 1e9, endS: t.endNs / 1e9, durationS: d, method: 'monitor (scrape rounds)' },
    requests: { total: 0, succeeded: 0, failed: 0, warmup: 0, inWindow: 0, errorsByKind: {}, missingUsage: 0, droppedArrivals: 0 },
    tokens: { input: t.inputTokens, output: t.outputTokens, source: 'server-counters', inputPerRequest: EMPTY_STATS, outputPerRequest: EMPTY_STATS, targetInputMean: null, targetOutputMean: null },
    throughput: { outputTokensPerS: outTps, totalTokensPerS: d > 0 ? (t.outputTokens + t.inputTokens) / d : 0, requestsPerS: 0 },
    latency: {
      ttftMs: stats(t.latency.ttft),
      itlMs: stats(t.latency.itl),
      tpotMs: stats(t.latency.itl),
      e2eMs: stats(t.latency.e2e),
      interactivityTokPerS: EMPTY_STATS,
    },
    slo: { attainment: null, goodputRequestsPerS: null, goodOutputTokensPerS: null, passed: null },
    load: { type: MONITOR_RUN_KIND, concurrency: null, rate: null, scheduleLagMs: EMPTY_STATS, meanInFlight: t.meanRunning },
    client: { connectionsOpened: 0, connectionsOpenedInWindow: 0, connectMs: EMPTY_STATS, cpuUtilization: null, eventLoopDelayP99Ms: null, limitedByClient: false },
    power: null,
    efficiency: null,
    cost: null,
    warnings,
  }
  const finished = finishSummary(base, { config: input.config, samples: input.samples, meters: input.meters, idleWindowNs: null, epochWallMs: input.epochWallMs })
  const utilization = input.capacity && input.capacity.outputTokensPerS > 0 ? outTps / input.capacity.outputTokensPerS : null
  return {
    ...finished,
    kind: MONITOR_RUN_KIND,
    monitor: {
      replicas: input.targets.map((s) => ({ ...s })),
      idleShare: t.idleShare,
      counterResets: t.resets,
      degradedRounds: t.degradedRounds,
      utilization,
      capacity: input.capacity,
      ...input.extra,
    },
  }
}

function stats(q: LatencyQuantiles | null): Stats {
  if (q === null || q.count <= 0) return EMPTY_STATS
  return { count: q.count, mean: null, p50: q.p50Ms, p90: q.p90Ms, p95: q.p95Ms, p99: q.p99Ms, max: null, min: null, stddev: null }
}

/** The headline figures of a window's summary, flat, for the live view, the exporter and alerts. */
export interface WindowFigures {
  readonly window: string
  readonly durationS: number
  readonly outputTokens: number
  readonly inputTokens: number
  readonly outputTokensPerS: number
  readonly boundary: string | null
  readonly powerW: number | null
  readonly energyJ: number | null
  readonly outputTokensPerJoule: number | null
  readonly joulesPerOutputToken: number | null
  readonly outputTokensPerSPerMW: number | null
  readonly outputTokensPerSPerProvisionedMW: number | null
  readonly usdPerMillionOutputTokens: number | null
  readonly utilization: number | null
  readonly idleShare: number
  readonly meanRunning: number | null
  readonly latency: WindowTotals['latency']
}

export function windowFigures(name: string, totals: WindowTotals, summary: RunSummary): WindowFigures {
  const mon = (summary as unknown as { monitor?: { utilization?: number | null } }).monitor
  return {
    window: name,
    durationS: totals.durationS,
    outputTokens: totals.outputTokens,
    inputTokens: totals.inputTokens,
    outputTokensPerS: summary.throughput.outputTokensPerS,
    boundary: summary.power?.boundary ?? null,
    powerW: summary.power?.avgW ?? null,
    energyJ: summary.power?.energyJ ?? null,
    outputTokensPerJoule: summary.efficiency?.outputTokensPerJoule ?? null,
    joulesPerOutputToken: summary.efficiency?.joulesPerOutputToken ?? null,
    outputTokensPerSPerMW: summary.efficiency?.outputTokensPerSPerMW ?? null,
    outputTokensPerSPerProvisionedMW: summary.efficiency?.outputTokensPerSPerProvisionedMW ?? null,
    usdPerMillionOutputTokens: summary.cost?.usdPerMillionOutputTokens ?? null,
    utilization: mon?.utilization ?? null,
    idleShare: totals.idleShare,
    meanRunning: totals.meanRunning,
    latency: totals.latency,
  }
}
