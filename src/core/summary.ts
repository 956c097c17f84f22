/**
 * The result record, `tokenwatt.run/v1` (DESIGN.md §5). Key paths here are a public contract: add
 * freely around them, rename none. A figure that could not be measured is `null` with a warning that
 * says why — never 0, never omitted.
 */
import type { Boundary, ChunkTimestamps, MeterKind } from './ports.js'
import type { TokenSource } from './records.js'
import type { TasksSection } from './analysis/analyze-tasks.js'
import type { SiteEnergy } from './analysis/energy/energy-by-site.js'

export const RUN_SCHEMA = 'tokenwatt.run/v1'

/** mean/p50/p90/p95/p99/max of one latency metric; null fields when there were no samples. */
export interface Stats {
  readonly count: number
  readonly mean: number | null
  readonly p50: number | null
  readonly p90: number | null
  readonly p95: number | null
  readonly p99: number | null
  readonly max: number | null
  readonly min: number | null
  readonly stddev: number | null
}

export interface Interval {
  readonly low: number
  readonly high: number
}

export interface SteadyWindow {
  /** Seconds from run start. */
  readonly startS: number
  readonly endS: number
  readonly durationS: number
  /** How the window was found, e.g. "inflight-plateau+mser5" or "whole-run (no steady state)". */
  readonly method: string
  /** `settlePower` runs: seconds the window start moved on for power to settle after the load had (0 when it already had). */
  readonly powerTrimS?: number
}

export interface MeterSummary {
  readonly id: string
  readonly kind: MeterKind
  readonly boundary: Boundary
  /** False for modelled sources (the utilisation estimate). */
  readonly measured: boolean
  /** How energy was obtained: counter difference or integration of power samples. */
  readonly method: 'counter' | 'trapezoid'
  readonly channels: readonly string[]
  readonly samples: number
  readonly avgW: number | null
  readonly energyJ: number | null
  /** Share of the window covered by samples (0..1). */
  readonly coverage: number
  readonly energyInterval: Interval | null
  readonly idleW: number | null
  /** Interval of idleW (the idle window's energy interval over its length). */
  readonly idleWInterval?: Interval
  /** Remote clock offset (ms) when the source has its own clock. */
  readonly clockOffsetMs: number | null
  readonly [extra: string]: unknown
}

/** One boundary level's energy: measured by a meter there, or modelled from the level below. */
export interface BoundaryLevel {
  readonly boundary: Boundary
  readonly source: 'measured' | 'modeled'
  readonly avgW: number | null
  readonly energyJ: number | null
  readonly interval: Interval | null
  /** The assumptions applied on the way up from the level below, with their values. */
  readonly assumptions: readonly { readonly name: string; readonly value: number; readonly unit: string; readonly source: string; readonly low?: number; readonly high?: number }[]
  /** Share of the window the level's meters covered (measured levels; modelled: the level below's). */
  readonly coverage?: number | null
  /** Meter ids this level's figure comes from (directly or through the level below). */
  readonly meters?: readonly string[]
  /** Average power at this level over the idle window, when one was measured. */
  readonly idleW?: number | null
  /** When the level is measured and could also be modelled from below: the two compared. */
  readonly crossCheck?: CrossCheck | null
}

/** A measured figure set against another way of getting the same quantity. */
export interface CrossCheck {
  /** What the measured figure was compared with (`modeled from device`, `meter nvidia-smi`, ...). */
  readonly against: string
  readonly measuredJ: number
  readonly otherJ: number
  readonly otherInterval: Interval | null
  /** (measured − other) / other. */
  readonly diffRel: number
  /** Whether the two intervals overlap. */
  readonly consistent: boolean
}

export interface PowerSection {
  /** The boundary the headline figures are at. */
  readonly boundary: Boundary
  readonly avgW: number | null
  readonly energyJ: number | null
  readonly coverage: number | null
  readonly interval: Interval | null
  readonly measured: readonly string[]
  readonly modeled: readonly string[]
  readonly meters: readonly MeterSummary[]
  readonly levels: readonly BoundaryLevel[]
  readonly idleW: number | null
  /** Energy per node / per rack, when the meters name two or more (energy-by-site.ts). */
  readonly byNode?: readonly SiteEnergy[]
  readonly byRack?: readonly SiteEnergy[]
  readonly [extra: string]: unknown
}

export interface EfficiencySection {
  readonly boundary: Boundary
  readonly outputTokensPerJoule: number | null
  readonly totalTokensPerJoule: number | null
  readonly joulesPerOutputToken: number | null
  readonly joulesPerToken: number | null
  readonly outputTokensPerSPerMW: number | null
  readonly outputTokensPerSPerProvisionedMW: number | null
  /** Interval of joulesPerOutputToken. */
  readonly interval: Interval | null
  readonly measured: readonly string[]
  readonly modeled: readonly string[]
  readonly [extra: string]: unknown
}

export interface CostSection {
  readonly currency: 'USD'
  readonly usdPerMillionOutputTokens: number | null
  readonly usdPerMillionInputTokens: number | null
  readonly usdPerMillionTokensBlended: number | null
  readonly usdPerHour: Readonly<Record<string, number>>
  readonly utilization: number
  readonly [extra: string]: unknown
}

export interface RunSummary {
  readonly schema: typeof RUN_SCHEMA
  readonly id: string
  readonly startedAt: string
  readonly endedAt: string
  /** complete | interrupted | failed */
  readonly status: 'complete' | 'interrupted' | 'failed'
  readonly tool: { readonly name: 'tokenwatt'; readonly version: string }
  readonly target: { readonly endpoint: string; readonly api: 'chat' | 'completions'; readonly model: string; readonly server: string | null }
  readonly workload: unknown
  readonly config: unknown
  readonly window: SteadyWindow
  readonly requests: {
    readonly total: number
    readonly succeeded: number
    readonly failed: number
    /** Cancelled by the run itself (Ctrl-C): neither succeeded nor failed. */
    readonly aborted?: number
    readonly warmup: number
    readonly inWindow: number
    readonly errorsByKind: Readonly<Record<string, number>>
    readonly missingUsage: number
    readonly droppedArrivals: number
  }
  readonly tokens: {
    readonly input: number
    readonly output: number
    /** `server-counters`: a monitor session, from the servers' own /metrics counters. */
    readonly source: TokenSource | 'mixed' | 'server-counters'
    readonly inputPerRequest: Stats
    readonly outputPerRequest: Stats
    readonly targetInputMean: number | null
    readonly targetOutputMean: number | null
  }
  readonly throughput: {
    readonly outputTokensPerS: number
    readonly totalTokensPerS: number
    readonly requestsPerS: number
  }
  readonly latency: {
    readonly ttftMs: Stats
    readonly itlMs: Stats
    readonly tpotMs: Stats
    readonly e2eMs: Stats
    readonly interactivityTokPerS: Stats
  }
  readonly slo: {
    readonly ttftMs?: number
    readonly tpotMs?: number
    readonly e2eMs?: number
    readonly attainment: number | null
    readonly goodputRequestsPerS: number | null
    readonly goodOutputTokensPerS: number | null
    readonly passed: boolean | null
  }
  readonly load: {
    readonly type: string
    readonly concurrency: number | null
    readonly rate: number | null
    readonly scheduleLagMs: Stats
    readonly meanInFlight: number | null
  }
  readonly client: {
    readonly connectionsOpened: number
    readonly connectionsOpenedInWindow: number
    readonly connectMs: Stats
    /** Requests resent once because the server had silently closed their keep-alive connection. */
    readonly staleConnectionRetries?: number
    readonly cpuUtilization: number | null
    readonly eventLoopDelayP99Ms: number | null
    readonly limitedByClient: boolean
    /** `--workers`: the load threads, each one's event-loop busy share over the measured span, and any `auto` added (atS on the run clock). */
    readonly workers?: {
      readonly count: number
      readonly mode: 'fixed' | 'auto'
      readonly utilization: readonly number[]
      readonly added: readonly { readonly atS: number; readonly reason: string }[]
    }
    /** How the client stamped chunk arrivals; absent in runs before it was recorded and in runs that did not stream. */
    readonly chunkTimestamps?: ChunkTimestamps
  }
  readonly power: PowerSection | null
  readonly efficiency: EfficiencySection | null
  readonly cost: CostSection | null
  /** `invalid` when too many measured requests failed to quote the figures (`--max-error-rate`); absent in runs before it existed. */
  readonly validity?: {
    readonly verdict: 'valid' | 'invalid'
    /** failed / (succeeded + failed) of the measured requests; null when none finished. */
    readonly errorRate: number | null
    readonly maxErrorRate: number
    readonly reasons: readonly string[]
  }
  /** Session workloads only: per-task figures (each session is a task). */
  readonly tasks?: TasksSection | null
  readonly warnings: readonly string[]
  /** Absent (or `bench`) for bench runs; `monitor` for a `tokenwatt monitor` session; `imported` for a result another tool produced (`tokenwatt import`). */
  readonly kind?: 'bench' | 'monitor' | 'imported'
  /** A monitor session's replicas, rolling windows, idle share, utilisation and alerts. */
  readonly monitor?: Readonly<Record<string, unknown>>
  /** Where an imported run came from: the tool, its version, the format and the file. */
  readonly provenance?: {
    readonly tool: string
    readonly version: string
    readonly format: string
    readonly file: string
    /** Which benchmark of a multi-benchmark file (a GuideLLM sweep point, a GenAI-Perf experiment). */
    readonly benchmark?: string
    /** Figures the file does not carry, so they are null in this run. */
    readonly unavailable?: readonly string[]
  }
}
