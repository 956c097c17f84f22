import type { CostResult } from '../economics/compute-cost.js'
import type { RequestRecord } from '../records.js'
import type { RunSummary } from '../summary.js'
import { readMetric, resolveMetric, type MetricReading, type ResolvedMetric } from './metric-lookup.js'
import { evaluateSlo, runEvidence, sloOf, type SloBounds, type SloOutcome } from './run-evidence.js'
import { commonTaskLatencyMs, evaluateTaskSlo, type TaskSloOutcome } from './task-slo.js'

/** What compare shows, in order; rows where no run has a value are left out. */
export const COMPARE_METRICS = [
  'output_token_throughput',
  'output_tokens_per_s_per_accelerator',
  'good_output_token_throughput',
  'slo_attainment',
  'time_to_first_token_p50',
  'time_to_first_token_p99',
  'time_per_output_token_p50',
  'time_per_output_token_p99',
  'interactivity_p50',
  'request_latency_p99',
  'average_power',
  'output_tokens_per_joule',
  'joules_per_output_token',
  'output_tokens_per_s_per_mw',
  'output_tokens_per_s_per_provisioned_facility_mw',
  'cost_per_million_output_tokens',
  'cost_per_million_good_output_tokens',
  'cost_per_accelerator_hour',
  // session runs: the task view, its SLO figures re-judged at the common task SLO
  'task_throughput',
  'good_task_throughput',
  'task_slo_attainment',
  'task_latency_p50',
  'task_latency_p99',
  'energy_per_task',
  'cost_per_task',
  'good_tasks_per_s_per_mw',
  'prefix_hit_share',
] as const

export interface CompareRunInput {
  readonly summary: RunSummary
  readonly requests: readonly RequestRecord[]
  /** The run priced again at compare time (same cost flags for every run), or its stored cost. */
  readonly cost: CostResult | null
}

export interface CompareRun {
  readonly id: string
  readonly label: string
  readonly model: string
  readonly server: string | null
  readonly powerBoundary: string | null
  readonly sloOwn: SloBounds
  readonly sloCommon: SloOutcome
}

export interface CompareRow {
  readonly metric: ResolvedMetric
  readonly readings: readonly MetricReading[]
  /** Index of the best run; null when direction-less, tied, incomparable or fewer than two values. */
  readonly winner: number | null
  /** Relative margin of the winner over the runner-up (0.12 = 12 % better). */
  readonly margin: number | null
  /** Relative size of the two runs' combined 95 % uncertainty, on the same scale. */
  readonly noise: number | null
  /** Whether the margin exceeds the noise; null when an interval is missing. */
  readonly significant: boolean | null
  readonly note: string | null
}

export interface RunComparison {
  readonly runs: readonly CompareRun[]
  readonly slo: { readonly bounds: SloBounds; readonly source: string }
  /** Session runs only: the task SLO every run's tasks were judged at (the request SLO above for each turn, plus this task bound). */
  readonly taskSlo: { readonly taskLatencyMs: number | null; readonly source: string; readonly outcomes: readonly (TaskSloOutcome | null)[] } | null
  readonly rows: readonly CompareRow[]
  readonly warnings: readonly string[]
}

const has = (b: SloBounds): boolean => b.ttftMs !== undefined || b.tpotMs !== undefined || b.e2eMs !== undefined
const same = (a: SloBounds, b: SloBounds): boolean => a.ttftMs === b.ttftMs && a.tpotMs === b.tpotMs && a.e2eMs === b.e2eMs

/**
 * The SLO runs are judged at: the one given, else the runs' own when they agree, else the strictest
 * bound of each kind any run used (so no run is credited for requests another would have failed).
 */
export function commonSlo(runs: readonly RunSummary[], given: SloBounds | null): { bounds: SloBounds; source: string } {
  if (given && has(given)) return { bounds: given, source: 'given on the command line' }
  const own = runs.map(sloOf)
  const first = own[0]
  if (first && own.every((o) => same(o, first))) return { bounds: first, source: has(first) ? "every run's own SLO" : 'none: no run had an SLO' }
  const pick = (k: keyof SloBounds): number | undefined => {
    const vs = own.map((o) => o[k]).filter((v): v is number => v !== undefined)
    return vs.length > 0 ? Math.min(...vs) : undefined
  }
  const bounds: SloBounds = {
    ...(pick('ttftMs') !== undefined ? { ttftMs: pick('ttftMs') } : {}),
    ...(pick('tpotMs') !== undefined ? { tpotMs: pick('tpotMs') } : {}),
    ...(pick('e2eMs') !== undefined ? { e2eMs: pick('e2eMs') } : {}),
  }
  return { bounds, source: 'the strictest bound of each kind across the runs (they used different SLOs)' }
}

function rowFor(metric: ResolvedMetric, readings: readonly MetricReading[]): CompareRow {
  const idx = readings.map((r, i) => [r, i] as const).filter(([r]) => r.value !== null)
  const empty = { metric, readings, winner: null, margin: null, noise: null, significant: null }
  if (metric.better === 'none' || idx.length < 2) return { ...empty, note: metric.better === 'none' ? 'no better direction' : null }
  const boundaries = new Set(idx.map(([r]) => r.boundary).filter((b) => b !== null))
  if (boundaries.size > 1) return { ...empty, note: `not comparable: measured at different boundaries (${[...boundaries].join(', ')})` }
  const higher = metric.better === 'higher'
  const sorted = [...idx].sort(([a], [b]) => (higher ? (b.value as number) - (a.value as number) : (a.value as number) - (b.value as number)))
  const [best, second] = sorted as [(typeof sorted)[number], (typeof sorted)[number]]
  const bv = best[0].value as number
  const sv = second[0].value as number
  if (bv === sv) return { ...empty, note: 'tie' }
  const margin = sv !== 0 ? Math.abs(bv - sv) / Math.abs(sv) : null
  const half = (r: MetricReading): number | null => (r.interval && r.value ? (r.interval.high - r.interval.low) / 2 / Math.abs(r.value) : null)
  const hb = half(best[0])
  const hs = half(second[0])
  const noise = hb !== null && hs !== null ? Math.hypot(hb, hs) : null
  const significant = margin !== null && noise !== null ? margin > noise : null
  return { metric, readings, winner: best[1], margin, noise, significant, note: significant === false ? 'within the runs’ uncertainty' : null }
}

/** A label for a run: its id and model. */
export function runLabel(s: RunSummary): string {
  return `${s.id} · ${s.target.model}`
}

/**
 * Compares runs metric by metric at one SLO: each run's requests are re-judged against the common
 * bounds, so goodput, attainment and cost per good token are like for like. Each row names the
 * winner, its margin over the runner-up, and whether that margin exceeds the runs' uncertainty.
 */
export function compareRuns(inputs: readonly CompareRunInput[], options: { readonly slo?: SloBounds | null; readonly taskLatencyMs?: number | null } = {}): RunComparison {
  const slo = commonSlo(
    inputs.map((i) => i.summary),
    options.slo ?? null,
  )
  const warnings: string[] = []
  const evidence = inputs.map((i) => runEvidence(i.summary, i.requests))
  const outcomes = inputs.map((i) => evaluateSlo(i.summary, i.requests, slo.bounds))
  const runs: CompareRun[] = inputs.map((i, k) => ({
    id: i.summary.id,
    label: runLabel(i.summary),
    model: i.summary.target.model,
    server: i.summary.target.server,
    powerBoundary: i.summary.power?.boundary ?? null,
    sloOwn: sloOf(i.summary),
    sloCommon: outcomes[k] as SloOutcome,
  }))
  if (inputs.some((i) => i.requests.length === 0)) warnings.push('a run has no stored request records: its SLO figures and intervals cannot be recomputed')
  const boundaries = new Set(runs.map((r) => r.powerBoundary).filter((b) => b !== null))
  if (boundaries.size > 1) warnings.push(`runs measured power at different boundaries (${[...boundaries].join(', ')}): energy figures are not compared`)
  const sessionRuns = inputs.some((i) => i.summary.tasks)
  const taskBound = sessionRuns ? commonTaskLatencyMs(inputs.map((i) => i.summary), options.taskLatencyMs ?? null) : null
  const taskOutcomes = inputs.map((i) => (taskBound && i.summary.tasks ? evaluateTaskSlo(i.summary, i.requests, { turn: slo.bounds, taskLatencyMs: taskBound.value }) : null))
  if (sessionRuns && inputs.some((i) => i.summary.tasks && i.summary.tasks.sessionsInWindow === undefined))
    warnings.push('a session run was stored before its task ids were kept: its task SLO figures are its own, not re-judged')
  if (sessionRuns && inputs.some((i) => !i.summary.tasks)) warnings.push('not every run is a session run: task rows compare only those that are')
  const rows: CompareRow[] = []
  for (const id of COMPARE_METRICS) {
    const metric = resolveMetric(id)
    if (!metric) continue
    const readings = evidence.map((ev, k) => {
      const task = taskOutcomes[k]
      return readMetric(metric, ev, { cost: inputs[k]?.cost ?? null, ...(has(slo.bounds) ? { slo: outcomes[k] as SloOutcome } : {}), ...(task ? { taskSlo: task } : {}) })
    })
    if (readings.every((r) => r.value === null)) continue
    rows.push(rowFor(metric, readings))
  }
  return { runs, slo, taskSlo: taskBound ? { taskLatencyMs: taskBound.value, source: taskBound.source, outcomes: taskOutcomes } : null, rows, warnings }
}
