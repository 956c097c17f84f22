import type { BenchConfig } from '../core/config/bench-schema.js'
import { InterruptedError } from '../core/errors.js'
import type { Clock } from '../core/ports.js'
import type { Interval, RunSummary } from '../core/summary.js'
import { gridSize, pointKey, type KnobAxis, type KnobValues } from '../core/sweep/knob-spec.js'
import { objectiveValue, OBJECTIVE_UNITS, pointFigures, scorePoint, type PointFigures } from '../core/sweep/objective.js'
import { fillServerTemplate, isConfigKnob, pointConfig } from '../core/sweep/point-config.js'
import { adaptiveSearch, gridSearch, type PointScore } from '../core/sweep/search.js'
import { baselineKnobs, choosePoint, combineRepeats, paretoFrontier, savingsAgainst, SWEEP_SCHEMA, type KnobApplied, type SweepPoint, type SweepResult } from '../core/sweep/sweep-result.js'
import { knobAxis, type HardwareKnobSpec, type SweepSection } from '../core/sweep/sweep-schema.js'

/** The hardware knobs of a sweep, as the runtime drives them (KnobSession in adapters/knobs). */
export interface SweepKnobs {
  open(specs: readonly HardwareKnobSpec[]): void
  /** Values in force now, by knob name (before the first change: the originals). */
  current(): Record<string, number>
  apply(name: string, value: number): KnobApplied
  throttledForPowerNs(): number | null
  restoreAll(): { restored: { id: string; value: number; unit: string }[]; failed: { id: string; error: string }[] }
  close(): void
}

/** The restart knob's server (RestartedServer in adapters/knobs). */
export interface SweepServer {
  /** Starts the command unless it already runs; seconds the (re)start took. */
  ensure(command: string): Promise<number>
  stop(): Promise<void>
}

export interface SweepDeps {
  readonly clock: Clock
  /** Runs and stores one bench run of a point (labels name the sweep and the knob values). */
  readonly runPoint: (config: BenchConfig) => Promise<{ readonly summary: RunSummary }>
  readonly knobs: SweepKnobs
  readonly server: SweepServer | null
  /** Writes sweep.json (called after every point, so an interrupted sweep leaves its points). */
  readonly persist: (result: SweepResult) => void
  /** One progress line per event (point started, point measured with the best so far). */
  readonly progress: (line: string) => void
  readonly signal: AbortSignal
  readonly wallIso: () => string
}

export interface SweepInput {
  readonly id: string
  readonly base: BenchConfig
  readonly sweep: SweepSection
  /** A sweep.json to resume: its measured points are reused, the search continues after them. */
  readonly resume: SweepResult | null
  /** The config as recorded (secrets redacted). */
  readonly configForRecord: unknown
}

/**
 * `tokenwatt sweep`: searches the knobs' grid (every point, or adaptively), each point an ordinary
 * bench run tagged with the sweep id and its knob values; picks the best point inside the SLO,
 * measures the default settings to state the savings against, and restores every hardware knob
 * whatever happens (the caller's KnobSession journals them for a kill -9).
 */
export async function runSweep(input: SweepInput, deps: SweepDeps): Promise<SweepResult> {
  const { sweep, base } = input
  const axes: KnobAxis[] = sweep.knobs.map(knobAxis)
  const hardwareSpecs = sweep.knobs.filter((k) => k.name.startsWith('gpu.') || k.name.startsWith('cpu.'))
  const points: SweepPoint[] = input.resume ? input.resume.points.filter((p) => p.error === undefined && p.runIds.length > 0).map((p) => ({ ...p })) : []
  const startedAt = input.resume?.startedAt ?? deps.wallIso()
  const warnings: string[] = [...(input.resume?.warnings ?? [])]
  let status: SweepResult['status'] = 'running'
  let restored: SweepResult['restored'] = []
  let chosen: SweepResult['chosen'] = null
  const total = sweep.strategy === 'grid' ? gridSize(axes) : null
  let lastHardwareChangeNs: number | null = null
  const applied = new Map<string, number>()

  const snapshot = (): SweepResult => ({
    schema: SWEEP_SCHEMA,
    id: input.id,
    startedAt,
    endedAt: status === 'running' ? null : deps.wallIso(),
    status,
    strategy: sweep.strategy,
    objective: sweep.objective,
    unit: OBJECTIVE_UNITS[sweep.objective],
    repeats: sweep.repeats,
    axes,
    gridPoints: gridSize(axes),
    points,
    chosen,
    frontier: paretoFrontier(points),
    restored,
    warnings,
    config: input.configForRecord,
  })

  deps.knobs.open(hardwareSpecs)
  const originals = deps.knobs.current()
  const measure = async (knobs: KnobValues, baseline: boolean): Promise<SweepPoint> => {
    deps.signal.throwIfAborted()
    const key = pointKey(knobs)
    const hardware: Record<string, KnobApplied> = {}
    for (const spec of hardwareSpecs) {
      const v = knobs[spec.name]
      if (v === undefined) continue
      const a = deps.knobs.apply(spec.name, v)
      hardware[spec.name] = a
      if (applied.get(spec.name) !== v) lastHardwareChangeNs = deps.clock.nowNs()
      applied.set(spec.name, v)
      const clamped = Object.entries(a.enforced).filter(([, e]) => Math.abs(e - v) > 1e-6 * Math.max(1, Math.abs(v)))
      for (const [id, e] of clamped) warnings.push(`${key}: ${id} enforces ${e} where ${v} was asked (clamped by the device or driver)`)
    }
    if (deps.server && sweep.server) await deps.server.ensure(fillServerTemplate(sweep.server.command, knobs))
    if (lastHardwareChangeNs !== null && sweep.settleS > 0) {
      await deps.clock.sleepUntil(lastHardwareChangeNs + sweep.settleS * 1e9, deps.signal)
      deps.signal.throwIfAborted()
    }
    const labelled = pointConfig(base, knobs, { sweep: input.id, 'sweep.point': key, ...(baseline ? { 'sweep.baseline': 'true' } : {}) })
    // After a hardware change the window also waits for power to settle (reported as the point's settleS).
    const config = hardwareSpecs.length > 0 ? { ...labelled, settlePower: true } : labelled
    const runIds: string[] = []
    const figures: PointFigures[] = []
    const rel: (Interval | null)[] = []
    let throttledNs: number | null = null
    let settleS: number | null = null
    for (let r = 0; r < sweep.repeats; r++) {
      const before = deps.knobs.throttledForPowerNs()
      const runStartNs = deps.clock.nowNs()
      const { summary } = await deps.runPoint(config)
      const after = deps.knobs.throttledForPowerNs()
      if (summary.status === 'interrupted' || deps.signal.aborted) throw new InterruptedError('sweep interrupted')
      runIds.push(summary.id)
      figures.push(pointFigures(summary))
      rel.push(relInterval(summary))
      if (before !== null && after !== null) throttledNs = (throttledNs ?? 0) + Math.max(0, after - before)
      if (r === 0 && lastHardwareChangeNs !== null) settleS = (runStartNs - lastHardwareChangeNs) / 1e9 + summary.window.startS
    }
    const values = figures.map((f) => objectiveValue(f, sweep.objective))
    const score: PointScore = scorePoint(values, figures.map((f) => f.sloViolation), figures.every((f) => f.valid), sweep.objective)
    return {
      key,
      knobs,
      runIds,
      repeats: figures,
      objective: combineRepeats(values, rel, sweep.objective),
      score,
      hardware,
      throttledForPowerS: throttledNs === null ? null : throttledNs / 1e9,
      settleS,
      ...(baseline ? { baseline: true } : {}),
    }
  }

  const evaluate = async (knobs: KnobValues): Promise<PointScore> => {
    const key = pointKey(knobs)
    const done = points.find((p) => p.key === key && !p.baseline)
    if (done) return done.score
    const n = points.filter((p) => !p.baseline).length + 1
    deps.progress(`point ${n}${total !== null ? `/${total}` : ''} ${key}: measuring`)
    const p = await measure(knobs, false)
    points.push(p)
    deps.persist(snapshot())
    deps.progress(describePoint(n, total, p, points, sweep.objective))
    return p.score
  }

  try {
    await (sweep.strategy === 'grid' ? gridSearch(axes, evaluate) : adaptiveSearch(axes, evaluate))
    const pick = choosePoint(points, base.slo)
    if (pick) {
      const defaults = configDefaults(base, axes)
      const baseKnobs = baselineKnobs(pick.knobs, originals, defaults)
      const baseKey = pointKey(baseKnobs)
      let basePoint = points.find((p) => p.key === baseKey) ?? null
      if (!basePoint && baseKey !== pick.key) {
        deps.progress(`baseline ${baseKey}: measuring the default settings to state the savings`)
        basePoint = await measure(baseKnobs, true)
        points.push(basePoint)
      }
      const chosenPoint = points.find((p) => p.key === pick.key && !p.baseline)
      chosen = { ...pick, baselineKey: basePoint?.key ?? null, savings: basePoint && chosenPoint ? savingsAgainst(basePoint, chosenPoint, sweep.objective) : null }
    } else {
      warnings.push('no point met the SLO and the validity rules: no operating point is chosen (see each point\'s score.violation)')
    }
    status = 'complete'
  } catch (e) {
    status = e instanceof InterruptedError || deps.signal.aborted ? 'interrupted' : 'failed'
    if (status === 'failed') warnings.push(`sweep failed: ${(e as Error).message}`)
    if (status === 'failed') throw e
  } finally {
    const r = deps.knobs.restoreAll()
    restored = r.restored
    for (const f of r.failed) warnings.push(`could not restore ${f.id}: ${f.error}; run \`tokenwatt knobs restore\``)
    deps.knobs.close()
    await deps.server?.stop()
    if (status === 'running') status = 'failed'
    deps.persist(snapshot())
  }
  return snapshot()
}

/** A run's energy interval relative to its J per output token (1 ± the meter's uncertainty). */
function relInterval(s: RunSummary): Interval | null {
  const j = s.efficiency?.joulesPerOutputToken ?? null
  const i = s.efficiency?.interval ?? null
  if (j === null || i === null || !(j > 0)) return null
  return { low: i.low / j, high: i.high / j }
}

/** The base config's own values of the config knobs (what a bench without the sweep would use). */
function configDefaults(base: BenchConfig, axes: readonly KnobAxis[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const a of axes) {
    if (!isConfigKnob(a.name)) continue
    if (a.name === 'concurrency' && base.load.type === 'closed-loop') out[a.name] = base.load.concurrency
    if (a.name === 'rate' && base.load.type !== 'closed-loop') out[a.name] = base.load.rate
    if (a.name === 'engine.parallel') out[a.name] = base.local.parallel
    if (a.name === 'engine.threads') out[a.name] = base.local.threads
  }
  return out
}

function fmt(v: number | null, digits = 3): string {
  return v === null ? '—' : Number(v.toPrecision(digits)).toString()
}

function describePoint(n: number, total: number | null, p: SweepPoint, all: readonly SweepPoint[], objective: SweepSection['objective']): string {
  const best = choosePoint(all, {})
  const unit = OBJECTIVE_UNITS[objective]
  const state = p.score.feasible ? '' : p.score.violation >= 1 && p.objective.value === null ? ' (no figure)' : ` (misses SLO by ${(p.score.violation * 100).toFixed(0)}%)`
  return `point ${n}${total !== null ? `/${total}` : ''} ${p.key}: ${fmt(p.objective.value)} ${unit}${state}; best so far ${best ? `${best.key} ${fmt(best.objective.value)} ${unit}` : 'none inside the SLO'}`
}
