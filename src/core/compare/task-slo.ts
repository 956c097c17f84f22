import { countGood, hasSloBounds, type SloBounds } from '../analysis/slo.js'
import type { RequestRecord } from '../records.js'
import type { RunSummary } from '../summary.js'
import { nsToMs } from '../units.js'

/** A task SLO: every request of the task meets the per-request bounds, and/or the whole task ends within a bound. */
export interface TaskSloBounds {
  readonly turn: SloBounds
  readonly taskLatencyMs: number | null
}

export interface TaskSloOutcome {
  readonly bounds: TaskSloBounds
  /** Good tasks ÷ tasks counted in the window; null without any bound or without tasks. */
  readonly attainment: number | null
  readonly goodTasksPerS: number | null
  readonly goodTasksPerSPerMW: number | null
  /** Tasks judged; null when the run's records could not be grouped into its tasks. */
  readonly judged: number | null
}

const hasTaskBounds = (b: TaskSloBounds): boolean => hasSloBounds(b.turn) || b.taskLatencyMs !== null

/**
 * The task-latency bound runs are compared at: the one given, else the runs' own when they agree, else
 * the strictest any run used (no run is credited for a task another would have failed).
 */
export function commonTaskLatencyMs(runs: readonly RunSummary[], given: number | null): { value: number | null; source: string } {
  if (given !== null) return { value: given, source: 'given on the command line' }
  const own = runs.filter((r) => r.tasks).map((r) => r.tasks?.slo.taskLatencyMs ?? null)
  const set = own.filter((v): v is number => v !== null)
  if (set.length === 0) return { value: null, source: 'none: no run had a task bound' }
  if (set.length === own.length && set.every((v) => v === set[0])) return { value: set[0] as number, source: "every run's own task bound" }
  return { value: Math.min(...set), source: 'the strictest task bound across the runs (they used different ones)' }
}

/**
 * Re-judges a session run's tasks at other bounds, exactly as the run analysis judged them: the tasks
 * are the sessions the run counted in its steady window (`tasks.sessionsInWindow`); a task is good when
 * every one of its requests meets the per-request bounds and its latency (first send → last byte) is
 * within the task bound. Runs stored before the session ids were kept give null figures.
 */
export function evaluateTaskSlo(summary: RunSummary, requests: readonly RequestRecord[], bounds: TaskSloBounds): TaskSloOutcome {
  const none: TaskSloOutcome = { bounds, attainment: null, goodTasksPerS: null, goodTasksPerSPerMW: null, judged: null }
  const ids = summary.tasks?.sessionsInWindow
  if (!hasTaskBounds(bounds) || ids === undefined || requests.length === 0) return none
  const wanted = new Set(ids)
  const bySession = new Map<number, RequestRecord[]>()
  for (const r of requests) {
    if (r.phase !== 'measure' || r.sessionId === undefined || !wanted.has(r.sessionId)) continue
    const list = bySession.get(r.sessionId)
    if (list === undefined) bySession.set(r.sessionId, [r])
    else list.push(r)
  }
  if (bySession.size !== wanted.size) return none
  let good = 0
  for (const rs of bySession.values()) {
    const startNs = Math.min(...rs.map((r) => r.sentAtNs))
    const endNs = Math.max(...rs.map((r) => r.lastByteAtNs ?? r.sentAtNs))
    const turnsOk = !hasSloBounds(bounds.turn) || countGood(rs, bounds.turn).good === rs.length
    const latencyOk = bounds.taskLatencyMs === null || nsToMs(endNs - startNs) <= bounds.taskLatencyMs
    if (turnsOk && latencyOk) good++
  }
  const n = bySession.size
  const d = summary.window.durationS
  const goodPerS = d > 0 ? good / d : null
  const avgW = summary.power?.avgW ?? null
  return {
    bounds,
    attainment: n > 0 ? good / n : null,
    goodTasksPerS: goodPerS,
    goodTasksPerSPerMW: goodPerS !== null && avgW !== null && avgW > 0 ? goodPerS / (avgW / 1e6) : null,
    judged: n,
  }
}
