import type { CostResult } from '../economics/compute-cost.js'
import { BUILTIN_METRICS } from '../metrics/builtin.js'
import type { MetricDef } from '../metrics/define-metric.js'
import { readPath } from '../metrics/registry.js'
import type { Interval, Stats } from '../summary.js'
import { quantileInterval, type RunEvidence, type SloOutcome } from './run-evidence.js'
import type { TaskSloOutcome } from './task-slo.js'

/** A statistic of a per-request distribution, as a metric-id suffix: `time_to_first_token_p99`. */
export const STATS = ['mean', 'p50', 'p90', 'p95', 'p99', 'max', 'min'] as const
export type StatName = (typeof STATS)[number]

/** A metric as claims and comparisons read it: one number per run, with an interval when known. */
export interface MetricReading {
  readonly value: number | null
  /** 95 % interval; null when the run carries no uncertainty for this figure. */
  readonly interval: Interval | null
  /** Power boundary the figure is at, for energy and cost figures. */
  readonly boundary: string | null
  /** How the interval was obtained, or why there is none. */
  readonly uncertainty: string
}

export interface ResolvedMetric {
  /** The id as written, stat suffix included. */
  readonly id: string
  readonly def: MetricDef
  readonly stat: StatName | null
  readonly title: string
  readonly unit: string
  readonly better: 'lower' | 'higher' | 'none'
}

/** Views a run may be read under: a common SLO (compare) and a re-priced cost section. */
export interface ReadContext {
  readonly slo?: SloOutcome
  /** Session runs: their tasks re-judged at a common task SLO. */
  readonly taskSlo?: TaskSloOutcome
  readonly cost?: CostResult | null
}

const ALIASES: Readonly<Record<string, string>> = {
  ttft: 'time_to_first_token',
  tpot: 'time_per_output_token',
  itl: 'inter_token_latency',
  e2e: 'request_latency',
  e2e_latency: 'request_latency',
  throughput: 'output_token_throughput',
  output_throughput: 'output_token_throughput',
  tokens_per_joule: 'output_tokens_per_joule',
  usd_per_million_output_tokens: 'cost_per_million_output_tokens',
  cost_per_mtok: 'cost_per_million_output_tokens',
}

function catalogue(): Map<string, MetricDef> {
  return new Map((BUILTIN_METRICS).map((d) => [d.id, d]))
}

/** Every id a claim or comparison can name (distributions also take a _p50/_p99/… suffix). */
export function knownMetricIds(): string[] {
  return [...catalogue().keys(), ...Object.keys(ALIASES)].sort()
}

/** Resolves `time_to_first_token_p99`, `interactivity` (→ p50), `output_tokens_per_s_per_mw`, aliases. */
export function resolveMetric(id: string): ResolvedMetric | undefined {
  const all = catalogue()
  const m = /^(.*)_(mean|p50|p90|p95|p99|max|min)$/.exec(id)
  const candidates: [string, StatName | null][] = m?.[1] && m[2] ? [[m[1], m[2] as StatName], [id, null]] : [[id, null]]
  for (const [rawBase, stat] of candidates) {
    const base = ALIASES[rawBase] ?? rawBase
    const def = all.get(base)
    if (!def) continue
    if (def.kind === 'distribution') {
      const s = stat ?? 'p50'
      return { id, def, stat: s, title: `${def.title} ${s}`, unit: def.unit, better: def.better }
    }
    if (stat !== null) continue
    return { id, def, stat: null, title: def.title, unit: def.unit, better: def.better }
  }
  return undefined
}

const RAW: Readonly<Record<string, keyof Pick<RunEvidence, 'ttftMs' | 'tpotMs' | 'e2eMs' | 'interactivity'>>> = {
  'latency.ttftMs': 'ttftMs',
  'latency.tpotMs': 'tpotMs',
  'latency.e2eMs': 'e2eMs',
  'latency.interactivityTokPerS': 'interactivity',
}

const scale = (i: Interval | null, value: number | null, ref: number | null): Interval | null =>
  i && value !== null && ref !== null && ref > 0 ? { low: (value * i.low) / ref, high: (value * i.high) / ref } : null
const invert = (i: Interval | null): Interval | null => (i && i.low > 0 ? { low: 1 / i.high, high: 1 / i.low } : null)
const relHalf = (i: Interval | null, v: number | null): number | null => (i && v ? (i.high - i.low) / 2 / Math.abs(v) : null)

/** Wilson 95 % interval of a proportion. */
function wilson(p: number, n: number): Interval | null {
  if (!(n > 0)) return null
  const z = 1.959964
  const d = 1 + (z * z) / n
  const c = (p + (z * z) / (2 * n)) / d
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d
  return { low: Math.max(0, c - h), high: Math.min(1, c + h) }
}

/**
 * Reads a metric from a run, with its 95 % interval: order statistics for latency percentiles,
 * batch means for throughput, the meters' interval for energy, and both for cost per token.
 */
export function readMetric(metric: ResolvedMetric, ev: RunEvidence, ctx: ReadContext = {}): MetricReading {
  const s = ev.summary
  const cost = ctx.cost !== undefined ? ctx.cost : (s.cost as CostResult | null)
  const view = cost === s.cost ? s : { ...s, cost }
  const path = metric.def.summaryPath
  const tput = s.throughput.outputTokensPerS
  const tputI = ev.outputTokensPerSInterval
  const eff = s.efficiency
  const jpt = eff?.joulesPerOutputToken ?? null
  const energyRel = eff?.interval && jpt ? { low: eff.interval.low / jpt, high: eff.interval.high / jpt } : null

  if (metric.stat !== null) {
    const st = readPath(s, path) as Stats | undefined
    const value = st ? st[metric.stat] : null
    const raw = RAW[path]
    let interval: Interval | null = null
    let uncertainty = 'no per-request values for an interval'
    if (raw && metric.stat.startsWith('p')) {
      interval = quantileInterval(ev[raw], Number(metric.stat.slice(1)) / 100)
      uncertainty = `order statistics over ${ev[raw].length} requests`
    } else if (st && metric.stat === 'mean' && st.mean !== null && st.stddev !== null && st.count > 1) {
      const h = (1.959964 * st.stddev) / Math.sqrt(st.count)
      interval = { low: st.mean - h, high: st.mean + h }
      uncertainty = `standard error over ${st.count} values`
    }
    return { value: value ?? null, interval, boundary: null, uncertainty }
  }

  // Task figures judged at a common task SLO (compare) come from the re-judged tasks.
  const t = ctx.taskSlo
  if (t && t.judged !== null) {
    if (metric.def.id === 'task_slo_attainment') return { value: t.attainment, interval: t.attainment !== null ? wilson(t.attainment, t.judged) : null, boundary: null, uncertainty: 'Wilson interval over tasks in the window' }
    if (metric.def.id === 'good_task_throughput') return { value: t.goodTasksPerS, interval: null, boundary: null, uncertainty: 'exact count over the window' }
    if (metric.def.id === 'good_tasks_per_s_per_mw') return { value: t.goodTasksPerSPerMW, interval: null, boundary: s.power?.boundary ?? null, uncertainty: 'no interval' }
  }

  // Cost per task follows the cost model the runs are compared under (re-priced), like $/Mtok.
  if (metric.def.id === 'cost_per_task' && cost !== s.cost) {
    const perS = s.tasks?.tasksPerS ?? null
    const v = cost && cost.usdPerHourTotal !== null && perS !== null && perS > 0 ? cost.usdPerHourTotal / (perS * 3600 * cost.utilization) : null
    return { value: v, interval: null, boundary: 'facility', uncertainty: 'no interval' }
  }

  // Figures judged at a common SLO (compare) come from the re-judged requests.
  if (ctx.slo) {
    if (metric.def.id === 'slo_attainment') return { value: ctx.slo.attainment, interval: ctx.slo.attainment !== null ? wilson(ctx.slo.attainment, s.requests.inWindow) : null, boundary: null, uncertainty: 'Wilson interval over requests in the window' }
    if (metric.def.id === 'goodput') return { value: ctx.slo.goodputRequestsPerS, interval: scale(tputI, ctx.slo.goodputRequestsPerS, tput), boundary: null, uncertainty: 'relative spread of the throughput batches' }
    if (metric.def.id === 'good_output_token_throughput') return { value: ctx.slo.goodOutputTokensPerS, interval: scale(tputI, ctx.slo.goodOutputTokensPerS, tput), boundary: null, uncertainty: 'relative spread of the throughput batches' }
    if (metric.def.id === 'cost_per_million_good_output_tokens') {
      const good = ctx.slo.goodOutputTokensPerS
      const v = cost && cost.usdPerHourTotal !== null && good && good > 0 ? (cost.usdPerHourTotal * 1e6) / (good * 3600 * cost.utilization) : null
      return { value: v, interval: invert(scale(tputI, v !== null ? 1 / v : null, tput)), boundary: 'facility', uncertainty: 'relative spread of the throughput batches' }
    }
  }

  const value = readPath(view, path)
  const v = typeof value === 'number' && Number.isFinite(value) ? value : null
  if (path === 'throughput.outputTokensPerS') return { value: v, interval: tputI, boundary: null, uncertainty: 'batch means over the steady window (10 batches, t interval)' }
  if (path.startsWith('throughput.') || path.startsWith('slo.good') || path === 'slo.goodputRequestsPerS' || path.startsWith('cost.tokensPerAcceleratorPerS')) {
    return { value: v, interval: scale(tputI, v, tput), boundary: null, uncertainty: 'relative spread of the output-throughput batches' }
  }
  if (path === 'slo.attainment') return { value: v, interval: v !== null ? wilson(v, s.requests.inWindow) : null, boundary: null, uncertainty: 'Wilson interval over requests in the window' }
  if (path.startsWith('efficiency.')) {
    const boundary = eff?.boundary ?? null
    // The energy interval carries over only to figures that are energy (or its inverse) per token.
    const energyPerToken = ['efficiency.joulesPerOutputToken', 'efficiency.joulesPerToken'].includes(path)
    const tokensPerEnergy = ['efficiency.outputTokensPerJoule', 'efficiency.totalTokensPerJoule', 'efficiency.outputTokensPerSPerMW'].includes(path)
    if (v === null || !energyRel || !(energyPerToken || tokensPerEnergy)) return { value: v, interval: null, boundary, uncertainty: energyRel ? 'no interval for this figure' : 'the energy analysis gave no interval' }
    const perJoule = tokensPerEnergy
    const interval = perJoule ? { low: v / energyRel.high, high: v / energyRel.low } : { low: v * energyRel.low, high: v * energyRel.high }
    return { value: v, interval, boundary, uncertainty: "the meters' energy interval" }
  }
  if (path.startsWith('power.')) {
    const p = s.power
    const rel = p?.interval && p.energyJ ? { low: p.interval.low / p.energyJ, high: p.interval.high / p.energyJ } : null
    return { value: v, interval: rel && v !== null ? { low: v * rel.low, high: v * rel.high } : null, boundary: p?.boundary ?? null, uncertainty: rel ? "the meters' energy interval" : 'no energy interval' }
  }
  if (path.startsWith('cost.')) {
    // cost per token ∝ 1/throughput; energy only moves the electricity share (cost.interval)
    const perToken = path.startsWith('cost.usdPerMillion')
    const tRel = relHalf(tputI, tput)
    const eRel = path === 'cost.usdPerMillionOutputTokens' ? relHalf(cost?.interval ?? null, v) : null
    const rel = perToken && (tRel !== null || eRel !== null) ? Math.hypot(tRel ?? 0, eRel ?? 0) : null
    const perMw = path.startsWith('cost.tokensPerSPerMW') ? tRel : null
    const r = rel ?? perMw
    return { value: v, interval: r !== null && v !== null ? { low: v * (1 - r), high: v * (1 + r) } : null, boundary: 'facility', uncertainty: r !== null ? 'throughput batches and energy interval, combined in quadrature' : 'no interval' }
  }
  return { value: v, interval: null, boundary: null, uncertainty: 'exact count or setting' }
}
