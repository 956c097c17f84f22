import type { SessionPlan } from '../load/sessions.js'
import type { RequestRecord } from '../records.js'
import type { RunSummary, Stats } from '../summary.js'
import { nsToMs } from '../units.js'
import { requestTimings } from './request-metrics.js'
import { countGood, hasSloBounds, type SloBounds } from './slo.js'
import { describe } from './stats.js'

/** TTFT and prompt reuse of the requests at one turn index (branch 0: the turns themselves). */
export interface TurnIndexFigures {
  readonly turn: number
  readonly requests: number
  readonly ttftMs: Stats
  readonly inputTokensMean: number | null
  /** Cached prompt tokens ÷ prompt tokens over this turn's requests that reported cached tokens. */
  readonly prefixHitShare: number | null
}

/** The `tasks` section of summary.json: each session is one task. */
export interface TasksSection {
  /** Sessions started, and those whose every request was sent and succeeded. */
  readonly started: number
  readonly completed: number
  /** Sessions with a failed request (not tasks). */
  readonly failed: number
  /** Sessions cut by the run's stop before their last turn (not tasks). */
  readonly incomplete: number
  /** Completed tasks whose last byte fell inside the steady window: every per-task figure is over these. */
  readonly inWindow: number
  readonly latencyMs: Stats
  readonly turnsPerTask: Stats
  readonly requestsPerTask: Stats
  readonly inputTokensPerTask: Stats
  readonly outputTokensPerTask: Stats
  readonly tasksPerS: number | null
  /** Boundary energy per task: window energy ÷ tasks completed in the window (null without a meter). */
  readonly joulesPerTask: number | null
  /** Cost per task: cost per hour ÷ (tasks per hour × utilization) (null without a cost model). */
  readonly usdPerTask: number | null
  readonly boundary: string | null
  readonly slo: {
    /** Every turn (and child) met the per-request SLO. */
    readonly turnSlo: boolean
    readonly taskLatencyMs: number | null
    readonly attainment: number | null
    readonly goodTasksPerS: number | null
    /** Good tasks per second per MW of average boundary power. */
    readonly goodTasksPerSPerMW: number | null
  }
  /** Cached prompt tokens ÷ prompt tokens over requests that reported cached tokens; null when none did. */
  readonly prefixHitShare: number | null
  /** Requests (in completed tasks) whose server reported cached prompt tokens. */
  readonly cachedTokensReported: number
  readonly byTurn: readonly TurnIndexFigures[]
  /** Session ids of the tasks counted in the window, ascending: what compare re-judges at another task SLO. */
  readonly sessionsInWindow?: readonly number[]
}

export interface TaskAnalysisInput {
  readonly records: readonly RequestRecord[]
  readonly window: { readonly startNs: number; readonly endNs: number; readonly durationS: number }
  /** The session's plan, to tell a complete session from one the stop cut short. */
  readonly plan: (sessionId: number) => SessionPlan
  readonly slo: SloBounds
  readonly taskLatencyMs: number | null
  readonly summary: Pick<RunSummary, 'power' | 'cost'>
}

/**
 * Per-task figures of a session run. A task is a session whose planned requests (turns and fan-out
 * children) were all sent and succeeded; it counts in the window when its last byte falls inside it.
 * Energy and cost per task follow the per-token figures' rule: a window quantity over the tasks the
 * window completed. Pure.
 */
export function analyzeTasks(input: TaskAnalysisInput): TasksSection {
  const bySession = new Map<number, RequestRecord[]>()
  for (const r of input.records) {
    if (r.phase !== 'measure' || r.sessionId === undefined) continue
    const list = bySession.get(r.sessionId)
    if (list === undefined) bySession.set(r.sessionId, [r])
    else list.push(r)
  }
  let failed = 0
  let incomplete = 0
  const done: { id: number; rs: RequestRecord[]; turns: number; startNs: number; endNs: number }[] = []
  for (const [id, rs] of bySession) {
    if (rs.some((r) => r.error !== null)) {
      failed++
      continue
    }
    const plan = input.plan(id)
    const planned = plan.turns.reduce((s, t) => s + 1 + (t.fanOut?.children.length ?? 0), 0)
    if (rs.length < planned) {
      incomplete++
      continue
    }
    const startNs = Math.min(...rs.map((r) => r.sentAtNs))
    const endNs = Math.max(...rs.map((r) => r.lastByteAtNs ?? r.sentAtNs))
    done.push({ id, rs, turns: plan.turns.length, startNs, endNs })
  }
  const w = input.window
  const inWin = done.filter((t) => t.endNs >= w.startNs && t.endNs <= w.endNs)
  const latency = inWin.map((t) => nsToMs(t.endNs - t.startNs))
  const hasTurnSlo = hasSloBounds(input.slo)
  const bound = input.taskLatencyMs
  const good = inWin.filter((t, i) => (!hasTurnSlo || countGood(t.rs, input.slo).good === t.rs.length) && (bound === null || (latency[i] as number) <= bound)).length
  const sloSet = hasTurnSlo || bound !== null
  const durS = w.durationS
  const tasksPerS = durS > 0 ? inWin.length / durS : null
  const goodPerS = sloSet && durS > 0 ? good / durS : null
  const power = input.summary.power
  const energyJ = power?.energyJ ?? null
  const avgW = power?.avgW ?? null
  const cost = input.summary.cost
  const usdPerHour = typeof cost?.usdPerHourTotal === 'number' ? cost.usdPerHourTotal : null
  const util = cost?.utilization ?? 1

  let cached = 0
  let prompt = 0
  let reported = 0
  const turnAgg = new Map<number, { ttft: number[]; input: number[]; cached: number; prompt: number; n: number }>()
  for (const t of inWin) {
    for (const r of t.rs) {
      const c = r.cachedInputTokens
      if (c !== undefined && c !== null && r.inputTokens !== null) {
        cached += c
        prompt += r.inputTokens
        reported++
      }
      if (r.branch !== 0 || r.turn === undefined) continue
      let a = turnAgg.get(r.turn)
      if (a === undefined) turnAgg.set(r.turn, (a = { ttft: [], input: [], cached: 0, prompt: 0, n: 0 }))
      a.n++
      const ttft = requestTimings(r).ttftNs
      if (ttft !== null) a.ttft.push(nsToMs(ttft))
      if (r.inputTokens !== null) a.input.push(r.inputTokens)
      if (c !== undefined && c !== null && r.inputTokens !== null) {
        a.cached += c
        a.prompt += r.inputTokens
      }
    }
  }
  const byTurn = [...turnAgg.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([turn, a]) => ({
      turn,
      requests: a.n,
      ttftMs: describe(a.ttft),
      inputTokensMean: a.input.length > 0 ? a.input.reduce((s, x) => s + x, 0) / a.input.length : null,
      prefixHitShare: a.prompt > 0 ? a.cached / a.prompt : null,
    }))
  const sum = (rs: readonly RequestRecord[], f: (r: RequestRecord) => number | null): number => rs.reduce((s, r) => s + (f(r) ?? 0), 0)
  return {
    started: bySession.size,
    completed: done.length,
    failed,
    incomplete,
    inWindow: inWin.length,
    latencyMs: describe(latency),
    turnsPerTask: describe(inWin.map((t) => t.turns)),
    requestsPerTask: describe(inWin.map((t) => t.rs.length)),
    inputTokensPerTask: describe(inWin.map((t) => sum(t.rs, (r) => r.inputTokens))),
    outputTokensPerTask: describe(inWin.map((t) => sum(t.rs, (r) => requestTimings(r).outputTokens))),
    tasksPerS,
    joulesPerTask: energyJ !== null && inWin.length > 0 ? energyJ / inWin.length : null,
    usdPerTask: usdPerHour !== null && tasksPerS !== null && tasksPerS > 0 ? usdPerHour / (tasksPerS * 3600 * util) : null,
    boundary: power?.boundary ?? null,
    slo: {
      turnSlo: hasTurnSlo,
      taskLatencyMs: bound,
      attainment: sloSet && inWin.length > 0 ? good / inWin.length : null,
      goodTasksPerS: goodPerS,
      goodTasksPerSPerMW: goodPerS !== null && avgW !== null && avgW > 0 ? goodPerS / (avgW / 1e6) : null,
    },
    prefixHitShare: prompt > 0 ? cached / prompt : null,
    cachedTokensReported: reported,
    byTurn,
    sessionsInWindow: inWin.map((t) => t.id).sort((a, b) => a - b),
  }
}

/** Warnings the task figures need beside them. */
export function taskWarnings(t: TasksSection): string[] {
  const out: string[] = []
  if (t.incomplete > 0) out.push(`${t.incomplete} session(s) were cut short by the stop and are not counted as tasks`)
  if (t.failed > 0) out.push(`${t.failed} session(s) had a failed request and are not counted as tasks`)
  if (t.inWindow === 0 && t.started > 0) out.push('no task completed inside the steady window: per-task figures are null')
  if (t.cachedTokensReported === 0 && t.started > 0) out.push('the server reported no cached prompt tokens (usage.prompt_tokens_details.cached_tokens or timings.cache_n): prefix-hit share is null')
  return out
}
