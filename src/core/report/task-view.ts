import type { RequestRecord } from '../records.js'
import type { RunSummary, Stats } from '../summary.js'
import { NS_PER_MS } from '../units.js'
import { formatNumber, formatPercent, formatSi, formatUsd, NOT_AVAILABLE } from './format.js'
import type { CdfSeries } from './latency-cdf.js'
import type { ReportFigure, ReportTable } from './report-model.js'

/**
 * The task view of a session run (summary.tasks): headline J/task and $/task, a table of the task
 * figures, TTFT and prefix-hit share by turn index, and the task-latency CDF. Empty for other runs.
 */
export function taskHeadline(s: RunSummary): ReportFigure[] {
  const t = s.tasks
  if (!t) return []
  const b = t.boundary
  const src = `${t.inWindow} tasks completed in the window`
  return [
    figure('energy_per_task', 'Energy per task', t.joulesPerTask, 'J/task', b, t.joulesPerTask === null ? 'no power meter' : src, `${formatNumber(t.joulesPerTask)} J`),
    figure('cost_per_task', 'Cost per task', t.usdPerTask, 'USD/task', t.usdPerTask === null ? null : 'facility', t.usdPerTask === null ? 'no cost model' : src, formatUsd(t.usdPerTask)),
    figure('task_latency_p50', 'Task latency p50', t.latencyMs.p50, 'ms', null, src, `${formatNumber(t.latencyMs.p50)} ms`),
    figure('prefix_hit_share', 'Prefix-cache hit share', t.prefixHitShare, '%', null, `${t.cachedTokensReported} requests reported cached tokens`, formatPercent(t.prefixHitShare)),
  ]
}

export function taskTables(s: RunSummary): ReportTable[] {
  const t = s.tasks
  if (!t) return []
  const st = (x: Stats, d = 3): string => `${formatNumber(x.mean, d)} mean · ${formatNumber(x.p50, d)} p50 · ${formatNumber(x.p90, d)} p90 · ${formatNumber(x.max, d)} max`
  const at = t.boundary ? ` @ ${t.boundary}` : ''
  const bounds = [t.slo.turnSlo ? 'every turn meets the request SLO' : '', t.slo.taskLatencyMs !== null ? `task ≤ ${formatNumber(t.slo.taskLatencyMs)} ms` : ''].filter(Boolean).join(' and ')
  const summary: ReportTable = {
    id: 'tasks',
    title: 'Tasks (sessions)',
    caption: `Each session is one task; figures over the ${t.inWindow} tasks whose last token arrived in the steady window (${t.started} started, ${t.completed} completed, ${t.failed} failed, ${t.incomplete} cut short by the stop).`,
    columns: ['figure', 'value'],
    rows: [
      [`energy per task${at}`, t.joulesPerTask === null ? NOT_AVAILABLE : `${formatNumber(t.joulesPerTask)} J`],
      ['cost per task', formatUsd(t.usdPerTask)],
      ['task throughput', `${formatNumber(t.tasksPerS)} tasks/s`],
      ['task latency (ms)', st(t.latencyMs, 1)],
      ['turns per task', st(t.turnsPerTask)],
      ['input tokens per task', st(t.inputTokensPerTask, 0)],
      ['output tokens per task', st(t.outputTokensPerTask, 0)],
      ['task SLO', bounds ? `${bounds}: ${formatPercent(t.slo.attainment)} attained, ${formatNumber(t.slo.goodTasksPerS)} good tasks/s` : 'no bound set'],
      [`good tasks/s per MW${at}`, formatSi(t.slo.goodTasksPerSPerMW)],
      ['prefix-cache hit share', `${formatPercent(t.prefixHitShare)} (${t.cachedTokensReported} requests reported cached tokens)`],
    ],
    numeric: [],
  }
  const byTurn: ReportTable = {
    id: 'tasks-by-turn',
    title: 'TTFT by turn index',
    caption: 'The cost of a growing context: each turn carries the whole conversation so far; the prefix cache serves what it has seen.',
    columns: ['turn', 'requests', 'TTFT mean (ms)', 'TTFT p50 (ms)', 'TTFT p90 (ms)', 'input tokens (mean)', 'prefix-hit share'],
    rows: t.byTurn.map((b) => [String(b.turn), String(b.requests), formatNumber(b.ttftMs.mean), formatNumber(b.ttftMs.p50), formatNumber(b.ttftMs.p90), formatNumber(b.inputTokensMean, 0), formatPercent(b.prefixHitShare)]),
    numeric: [0, 1, 2, 3, 4, 5, 6],
  }
  return [summary, byTurn]
}

/** Task latency CDF over sessions whose every request succeeded and whose last byte fell in the window. */
export function taskLatencyCdf(s: RunSummary, requests: readonly RequestRecord[]): CdfSeries | null {
  if (!s.tasks) return null
  const spans = new Map<number, { start: number; end: number; ok: boolean }>()
  for (const r of requests) {
    if (r.phase !== 'measure' || r.sessionId === undefined) continue
    const end = r.lastByteAtNs ?? r.sentAtNs
    const x = spans.get(r.sessionId)
    if (x === undefined) spans.set(r.sessionId, { start: r.sentAtNs, end, ok: r.error === null })
    else {
      x.start = Math.min(x.start, r.sentAtNs)
      x.end = Math.max(x.end, end)
      x.ok &&= r.error === null
    }
  }
  const w0 = s.window.startS * 1e9
  const w1 = s.window.endS * 1e9
  const ms = [...spans.values()].filter((x) => x.ok && x.end >= w0 && x.end <= w1).map((x) => (x.end - x.start) / NS_PER_MS)
  const values = Float64Array.from(ms).sort()
  const n = values.length
  const steps = Math.min(200, n)
  const points = n === 0 ? [] : Array.from({ length: steps + 1 }, (_, i) => ({ ms: values[Math.min(n - 1, Math.max(0, Math.ceil((i / steps) * n) - 1))] as number, p: i / steps }))
  return { metric: 'task', label: 'Task latency', unit: 'ms', count: n, population: n, points }
}

function figure(id: string, label: string, value: number | null, unit: string, boundary: string | null, source: string, text: string): ReportFigure {
  return { id, label, value, unit, text, boundary, source, interval: null }
}
