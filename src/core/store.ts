/**
 * The results store port. Runs are written as they happen (records and samples appended in small
 * batches), so an interrupted run still leaves a usable partial result. Synchronous on purpose: the
 * embedded SQLite store answers in microseconds and the runtime batches its writes.
 */
import type { PowerSample, RequestRecord } from './records.js'
import type { RunSummary } from './summary.js'
import type { MonitorTick } from './monitor/monitor-state.js'

export interface RunManifest {
  readonly id: string
  readonly startedAt: string
  /** Wall-clock ms of the run's monotonic epoch (ns 0), for aligning remote meters later. */
  readonly epochWallMs: number
  readonly toolVersion: string
  /** The resolved config, secrets removed. */
  readonly config: unknown
  readonly target: { readonly endpoint: string; readonly api: string; readonly model: string; readonly server: string | null }
  readonly labels: Readonly<Record<string, string>>
  /** Meter descriptions (MeterInfo) as used. */
  readonly meters: readonly unknown[]
}

export interface StoredRunRow {
  readonly id: string
  readonly startedAt: string
  readonly endedAt: string | null
  readonly status: 'running' | 'complete' | 'interrupted' | 'failed'
  readonly model: string
  readonly endpoint: string
  readonly requests: number
  readonly labels: Readonly<Record<string, string>>
}

export interface ResultsStore {
  createRun(manifest: RunManifest): void
  appendRequests(runId: string, records: readonly RequestRecord[]): void
  appendPowerSamples(runId: string, samples: readonly PowerSample[]): void
  finishRun(runId: string, status: 'complete' | 'interrupted' | 'failed', summary: RunSummary | null): void
  listRuns(): readonly StoredRunRow[]
  /** Throws NotFoundError when no run has this id (a unique prefix is accepted). */
  getManifest(runId: string): RunManifest
  getSummary(runId: string): RunSummary | null
  getRequests(runId: string): RequestRecord[]
  getPowerSamples(runId: string): PowerSample[]
  /** A monitor session's scrape rounds (token increases, in-flight gauge, histogram increases), as they came. */
  appendMonitorTicks(runId: string, ticks: readonly MonitorTick[]): void
  getMonitorTicks(runId: string): MonitorTick[]
  /** Resolves a unique id prefix (or "latest") to the full id. */
  resolveRunId(idOrPrefix: string): string
  close(): void
}
