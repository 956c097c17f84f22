import type { RunSummary } from '../summary.js'
import type { PointScore } from './search.js'
import type { Objective } from './sweep-schema.js'

/** The figures of one measured run a sweep ranks and shows. */
export interface PointFigures {
  /** Joules per good output token at the summary's boundary (SLO-meeting requests only; all when no SLO). */
  readonly joulesPerGoodToken: number | null
  readonly usdPerMillionGoodTokens: number | null
  readonly goodTokensPerSPerMW: number | null
  readonly goodOutputTokensPerS: number | null
  readonly outputTokensPerS: number
  readonly avgPowerW: number | null
  /** Median tokens/s one user sees (interactivity, the Pareto chart's x axis). */
  readonly interactivityTokPerS: number | null
  readonly sloAttainment: number | null
  readonly sloPassed: boolean | null
  readonly ttftP99Ms: number | null
  readonly tpotP99Ms: number | null
  /** Relative amount by which the run missed its SLO bounds at the verdict percentile (0 when met). */
  readonly sloViolation: number
  readonly valid: boolean
  /** Session workloads: joules and dollars per task that met the task SLO (every task when none is set); null otherwise. */
  readonly joulesPerGoodTask?: number | null
  readonly usdPerGoodTask?: number | null
}

export function pointFigures(s: RunSummary): PointFigures {
  const goodTps = s.slo.goodOutputTokensPerS ?? (s.slo.ttftMs === undefined && s.slo.tpotMs === undefined && s.slo.e2eMs === undefined ? s.throughput.outputTokensPerS : null)
  const avgW = s.power?.avgW ?? null
  const provisionedPerMW = s.efficiency?.outputTokensPerSPerProvisionedMW ?? s.efficiency?.outputTokensPerSPerMW ?? null
  const goodShare = goodTps !== null && s.throughput.outputTokensPerS > 0 ? goodTps / s.throughput.outputTokensPerS : null
  const usdPerHour = (s.cost as { usdPerHourTotal?: number } | null)?.usdPerHourTotal ?? null
  return {
    joulesPerGoodToken: avgW !== null && goodTps !== null && goodTps > 0 ? avgW / goodTps : null,
    usdPerMillionGoodTokens: usdPerHour !== null && goodTps !== null && goodTps > 0 ? usdPerHour / ((goodTps * 3600) / 1e6) : null,
    goodTokensPerSPerMW: provisionedPerMW !== null && goodShare !== null ? provisionedPerMW * goodShare : null,
    goodOutputTokensPerS: goodTps,
    outputTokensPerS: s.throughput.outputTokensPerS,
    avgPowerW: avgW,
    interactivityTokPerS: s.latency.interactivityTokPerS.p50,
    sloAttainment: s.slo.attainment,
    sloPassed: s.slo.passed,
    ttftP99Ms: s.latency.ttftMs.p99,
    tpotP99Ms: s.latency.tpotMs.p99,
    // the run's own verdict decides; the distance past the bounds says how far it missed; a task
    // bound (sessions) is judged the same way on the task latency
    sloViolation: Math.max(s.slo.passed === true ? 0 : s.slo.passed === false ? Math.max(sloViolation(s), 1e-6) : 0, taskViolation(s)),
    valid: s.status === 'complete' && s.validity?.verdict !== 'invalid',
    ...taskFigures(s, avgW, usdPerHour),
  }
}

/** Per good task: the tasks that met the task SLO, else (no task SLO) every task the window completed. */
function taskFigures(s: RunSummary, avgW: number | null, usdPerHour: number | null): Pick<PointFigures, 'joulesPerGoodTask' | 'usdPerGoodTask'> {
  const t = s.tasks
  if (!t) return {}
  const goodPerS = t.slo.goodTasksPerS ?? (t.slo.turnSlo || t.slo.taskLatencyMs !== null ? null : t.tasksPerS)
  const ok = goodPerS !== null && goodPerS > 0
  return { joulesPerGoodTask: ok && avgW !== null ? avgW / goodPerS : null, usdPerGoodTask: ok && usdPerHour !== null ? usdPerHour / (goodPerS * 3600) : null }
}

function percentileOf(stats: RunSummary['latency']['ttftMs'], p: number): number | null {
  if (p >= 99) return p >= 100 ? stats.max : stats.p99
  if (p >= 95) return stats.p95
  if (p >= 90) return stats.p90
  return stats.p50
}

function verdictPercentile(s: RunSummary): number {
  return ((s.config as { slo?: { percentile?: number } } | null)?.slo?.percentile) ?? 99
}

/** How far the task latency at the verdict percentile is past the task bound (0 when met or unset). */
function taskViolation(s: RunSummary): number {
  const bound = s.tasks?.slo.taskLatencyMs ?? null
  const v = bound !== null && s.tasks ? percentileOf(s.tasks.latencyMs, verdictPercentile(s)) : null
  return bound !== null && v !== null && v > bound ? Math.max(v / bound - 1, 1e-6) : 0
}

function sloViolation(s: RunSummary): number {
  const p = ((s.config as { slo?: { percentile?: number } } | null)?.slo?.percentile) ?? 99
  let worst = 0
  const check = (bound: number | undefined, stats: RunSummary['latency']['ttftMs']): void => {
    const v = bound === undefined ? null : percentileOf(stats, p)
    if (bound !== undefined && v !== null) worst = Math.max(worst, v / bound - 1)
  }
  check(s.slo.ttftMs, s.latency.ttftMs)
  check(s.slo.tpotMs, s.latency.tpotMs)
  check(s.slo.e2eMs, s.latency.e2eMs)
  return Math.max(0, worst)
}

/** The objective's value (in its natural direction) and unit. */
export function objectiveValue(f: PointFigures, objective: Objective): number | null {
  if (objective === 'joules-per-good-token') return f.joulesPerGoodToken
  if (objective === 'usd-per-million-good-tokens') return f.usdPerMillionGoodTokens
  if (objective === 'joules-per-good-task') return f.joulesPerGoodTask ?? null
  if (objective === 'usd-per-good-task') return f.usdPerGoodTask ?? null
  return f.goodTokensPerSPerMW
}

export const OBJECTIVE_UNITS: Readonly<Record<Objective, string>> = {
  'joules-per-good-token': 'J/token',
  'usd-per-million-good-tokens': 'USD/Mtok',
  'good-tokens-per-s-per-mw': 'tok/s/MW',
  'joules-per-good-task': 'J/task',
  'usd-per-good-task': 'USD/task',
}

/** Objectives per task, for session workloads (workload.sessions or a session trace). */
export const TASK_OBJECTIVES: readonly Objective[] = ['joules-per-good-task', 'usd-per-good-task']

/** Whether larger is better for the objective. */
export function maximises(objective: Objective): boolean {
  return objective === 'good-tokens-per-s-per-mw'
}

/**
 * The search's score of a point (lower is better): the objective, negated when it is maximised; a
 * point that missed its SLO, was invalid or has no figure is infeasible and ranks by how far it missed.
 */
export function scorePoint(values: readonly (number | null)[], violations: readonly number[], valid: boolean, objective: Objective): PointScore {
  const known = values.filter((v): v is number => v !== null)
  const mean = known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : null
  const violation = violations.length > 0 ? violations.reduce((a, b) => a + b, 0) / violations.length : 0
  // no figure (no good token at all) or an invalid run: infeasible; the SLO miss, where known, still orders it
  if (mean === null || !valid) return { cost: Number.POSITIVE_INFINITY, feasible: false, violation: valid && violation > 0 ? violation : Math.max(violation, 1) }
  const cost = maximises(objective) ? -mean : mean
  return violation > 0 ? { cost, feasible: false, violation } : { cost, feasible: true, violation: 0 }
}
