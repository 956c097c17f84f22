import type { Interval } from '../summary.js'
import type { KnobAxis, KnobValues } from './knob-spec.js'
import { pointKey } from './knob-spec.js'
import { maximises, type PointFigures } from './objective.js'
import { compareScores, type PointScore } from './search.js'
import type { Objective } from './sweep-schema.js'

export const SWEEP_SCHEMA = 'tokenwatt.sweep/v1'

/** What a hardware knob was asked for at a point and what each device enforced. */
export interface KnobApplied {
  readonly requested: number
  /** By knob target id (`gpu.power-limit-w@nvml:0`). */
  readonly enforced: Readonly<Record<string, number>>
}

export interface SweepPoint {
  readonly key: string
  readonly knobs: KnobValues
  /** Stored runs of this point (one per repeat). */
  readonly runIds: readonly string[]
  /** Figures of each repeat, in order. */
  readonly repeats: readonly PointFigures[]
  /** The objective: mean over repeats, and an interval spanning the repeats and each run's energy interval. */
  readonly objective: { readonly value: number | null; readonly interval: Interval | null }
  readonly score: PointScore
  readonly hardware: Readonly<Record<string, KnobApplied>>
  /** Seconds throttled for power during the point's runs (NVML violation counter); null where not reported. */
  readonly throttledForPowerS: number | null
  /** Seconds from the last hardware change to the start of the measured (steady) window. */
  readonly settleS: number | null
  /** Measured to compare against, not part of the search (the default settings). */
  readonly baseline?: boolean
  readonly error?: string
}

export interface Savings {
  readonly baseline: number | null
  readonly chosen: number | null
  /** (chosen − baseline) / baseline: negative is a saving for costs, positive a gain for throughput. */
  readonly changeRel: number | null
  readonly interval: Interval | null
}

export interface ChosenPoint {
  readonly key: string
  readonly knobs: KnobValues
  readonly runIds: readonly string[]
  readonly objective: { readonly value: number | null; readonly interval: Interval | null }
  /** Headroom left to each SLO bound at the verdict percentile: (bound − value) / bound. */
  readonly sloMargins: Readonly<Record<string, number>>
  /** `distinct` when no other feasible point's interval overlaps the chosen one's. */
  readonly confidence: 'distinct' | 'within-noise'
  readonly tiedWith: readonly string[]
  readonly baselineKey: string | null
  readonly savings: {
    readonly joulesPerGoodToken: Savings
    readonly usdPerMillionGoodTokens: Savings
    readonly goodTokensPerSPerMW: Savings
    /** Session workloads. */
    readonly joulesPerGoodTask?: Savings
    readonly usdPerGoodTask?: Savings
  } | null
}

export interface SweepResult {
  readonly schema: typeof SWEEP_SCHEMA
  readonly id: string
  readonly startedAt: string
  readonly endedAt: string | null
  readonly status: 'running' | 'complete' | 'interrupted' | 'failed'
  readonly strategy: 'grid' | 'adaptive'
  readonly objective: Objective
  readonly unit: string
  readonly repeats: number
  readonly axes: readonly KnobAxis[]
  readonly gridPoints: number
  readonly points: readonly SweepPoint[]
  readonly chosen: ChosenPoint | null
  /** Pareto frontier keys: good tokens/s per MW (or per W) against tokens/s per user. */
  readonly frontier: readonly string[]
  readonly restored: readonly { readonly id: string; readonly value: number; readonly unit: string }[]
  readonly warnings: readonly string[]
  /** The bench config of the points, secrets redacted. */
  readonly config: unknown
}

function mean(xs: readonly number[]): number | null {
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length
}

/**
 * A point's objective over its repeats: the mean, and an interval from the lowest to the highest of
 * the repeats' own intervals (each run's energy interval scaled onto the objective).
 */
export function combineRepeats(values: readonly (number | null)[], relIntervals: readonly (Interval | null)[], objective: Objective): { value: number | null; interval: Interval | null } {
  const known = values.map((v, i) => ({ v, r: relIntervals[i] ?? null })).filter((x): x is { v: number; r: Interval | null } => x.v !== null)
  const m = mean(known.map((x) => x.v))
  if (m === null) return { value: null, interval: null }
  let low = Number.POSITIVE_INFINITY
  let high = Number.NEGATIVE_INFINITY
  for (const { v, r } of known) {
    const rl = r?.low ?? 1
    const rh = r?.high ?? 1
    // Energy up by a factor means J/token and $ up, tokens per MW down by the same factor.
    const [a, b] = maximises(objective) ? [v / rh, v / rl] : [v * rl, v * rh]
    low = Math.min(low, a, v)
    high = Math.max(high, b, v)
  }
  return { value: m, interval: { low, high } }
}

function overlaps(a: Interval | null, b: Interval | null): boolean {
  if (!a || !b) return false
  return a.low <= b.high && b.low <= a.high
}

/** The best feasible point, whether its interval stands clear of the others', and its SLO margins. */
export function choosePoint(points: readonly SweepPoint[], slo: { readonly ttftMs?: number | undefined; readonly tpotMs?: number | undefined }): Omit<ChosenPoint, 'savings' | 'baselineKey'> | null {
  const ranked = points.filter((p) => !p.baseline && p.score.feasible).sort((a, b) => compareScores(a.score, b.score))
  const best = ranked[0]
  if (!best) return null
  const tiedWith = ranked.slice(1).filter((p) => overlaps(p.objective.interval, best.objective.interval)).map((p) => p.key)
  const margins: Record<string, number> = {}
  const worst = (f: (r: PointFigures) => number | null): number | null => {
    const xs = best.repeats.map(f).filter((x): x is number => x !== null)
    return xs.length ? Math.max(...xs) : null
  }
  const t = worst((r) => r.ttftP99Ms)
  const p = worst((r) => r.tpotP99Ms)
  if (slo.ttftMs !== undefined && t !== null) margins.ttftMs = (slo.ttftMs - t) / slo.ttftMs
  if (slo.tpotMs !== undefined && p !== null) margins.tpotMs = (slo.tpotMs - p) / slo.tpotMs
  return { key: best.key, knobs: best.knobs, runIds: best.runIds, objective: best.objective, sloMargins: margins, confidence: tiedWith.length === 0 ? 'distinct' : 'within-noise', tiedWith }
}

/**
 * The default settings to measure savings against: every hardware knob at the value found before
 * the sweep. Config knobs keep the chosen point's values when hardware is swept (the saving is then
 * what the hardware setting buys at the same load), else they take the base config's values.
 */
export function baselineKnobs(chosen: KnobValues, originals: Readonly<Record<string, number>>, configDefaults: Readonly<Record<string, number>>): KnobValues {
  const hardware = Object.keys(originals).length > 0
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(chosen)) {
    const o = originals[k]
    const d = configDefaults[k]
    out[k] = o !== undefined ? o : !hardware && d !== undefined ? d : v
  }
  return out
}

function saving(base: SweepPoint, chosen: SweepPoint, pick: (f: PointFigures) => number | null): Savings {
  const b = mean(base.repeats.map(pick).filter((x): x is number => x !== null))
  const c = mean(chosen.repeats.map(pick).filter((x): x is number => x !== null))
  return { baseline: b, chosen: c, changeRel: b !== null && c !== null && b !== 0 ? (c - b) / b : null, interval: null }
}

const SAVING_KEY: Readonly<Record<Objective, keyof NonNullable<ChosenPoint['savings']>>> = {
  'joules-per-good-token': 'joulesPerGoodToken',
  'usd-per-million-good-tokens': 'usdPerMillionGoodTokens',
  'good-tokens-per-s-per-mw': 'goodTokensPerSPerMW',
  'joules-per-good-task': 'joulesPerGoodTask',
  'usd-per-good-task': 'usdPerGoodTask',
}

export function savingsAgainst(base: SweepPoint, chosen: SweepPoint, objective: Objective): ChosenPoint['savings'] {
  const tasks = chosen.repeats.some((r) => r.joulesPerGoodTask !== undefined)
  const s: { -readonly [K in keyof NonNullable<ChosenPoint['savings']>]: Savings } = {
    joulesPerGoodToken: saving(base, chosen, (f) => f.joulesPerGoodToken),
    usdPerMillionGoodTokens: saving(base, chosen, (f) => f.usdPerMillionGoodTokens),
    goodTokensPerSPerMW: saving(base, chosen, (f) => f.goodTokensPerSPerMW),
    ...(tasks ? { joulesPerGoodTask: saving(base, chosen, (f) => f.joulesPerGoodTask ?? null), usdPerGoodTask: saving(base, chosen, (f) => f.usdPerGoodTask ?? null) } : {}),
  }
  // The objective's own saving carries the interval of the two points' intervals.
  const key = SAVING_KEY[objective]
  const own = s[key]
  const bi = base.objective.interval
  const ci = chosen.objective.interval
  if (own && bi && ci && bi.low > 0 && bi.high > 0) s[key] = { ...own, interval: { low: ci.low / bi.high - 1, high: ci.high / bi.low - 1 } }
  return s
}

/** Keys of the points no other point beats on both good tokens/s per MW (or per W) and tokens/s per user. */
export function paretoFrontier(points: readonly SweepPoint[]): string[] {
  const xy = points
    .filter((p) => !p.baseline && p.score.feasible)
    .map((p) => ({ key: p.key, x: mean(p.repeats.map((r) => r.interactivityTokPerS).filter((v): v is number => v !== null)), y: mean(p.repeats.map(frontierY).filter((v): v is number => v !== null)) }))
    .filter((p): p is { key: string; x: number; y: number } => p.x !== null && p.y !== null)
  return xy.filter((a) => !xy.some((b) => b !== a && b.x >= a.x && b.y >= a.y && (b.x > a.x || b.y > a.y))).sort((a, b) => a.x - b.x).map((p) => p.key)
}

/** The frontier's y: good tokens/s per provisioned MW where known, else per MW of measured power (10⁶ / J per good token). */
export function frontierY(f: PointFigures): number | null {
  if (f.goodTokensPerSPerMW !== null) return f.goodTokensPerSPerMW
  return f.joulesPerGoodToken !== null && f.joulesPerGoodToken > 0 ? 1e6 / f.joulesPerGoodToken : null
}

export { pointKey }
