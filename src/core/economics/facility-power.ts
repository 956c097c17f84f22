import type { Boundary } from '../ports.js'
import type { BoundaryLevel, RunSummary } from '../summary.js'

/** How the facility-boundary power that electricity is priced on was obtained. */
export type FacilityPowerSource =
  /** A meter at the facility boundary, or the meters work's facility level. */
  | 'measured'
  /** The meters work modelled the facility level from a lower one (its assumptions are in power.levels). */
  | 'modeled'
  /** The highest measured boundary below the facility × PUE (assumption stated). */
  | 'scaled-by-pue'
  /** No power was measured: provisioned all-in power × PUE, an upper bound. */
  | 'provisioned'

export interface FacilityPower {
  readonly source: FacilityPowerSource
  /** Boundary of the power the figure started from. */
  readonly fromBoundary: Boundary | null
  /** Facility-boundary average power while serving, W. */
  readonly servingW: number
  /** Facility-boundary idle power of the deployment, W; null when unknown. */
  readonly idleW: number | null
  /** Multiplier applied to the starting boundary's power to reach the facility (1 when measured there). */
  readonly multiplier: number
  /** Relative bounds (low/high ÷ value) of the energy, when the meters work gave an interval. */
  readonly relativeInterval: { readonly low: number; readonly high: number } | null
  readonly notes: readonly string[]
}

const ORDER: readonly Boundary[] = ['device', 'node', 'rack', 'cluster', 'facility']

function relative(level: Pick<BoundaryLevel, 'energyJ' | 'interval'>): { low: number; high: number } | null {
  if (!level.interval || level.energyJ === null || !(level.energyJ > 0)) return null
  return { low: level.interval.low / level.energyJ, high: level.interval.high / level.energyJ }
}

/**
 * The facility-boundary power electricity is charged on. Prefers a facility level from the meters
 * work (measured or modelled, with its own assumptions); otherwise takes the highest boundary that
 * has power and multiplies by PUE, saying so. Idle power is scaled by the same factor.
 *
 * `idleWFallback` is the deployment's idle power at the starting boundary when the run measured none.
 */
export function facilityPower(
  summary: RunSummary,
  pue: number,
  fallback: { readonly provisionedItW: number | null; readonly idleW: number | null },
): FacilityPower | null {
  const power = summary.power
  const notes: string[] = []
  const headlineW = power?.avgW ?? null
  const idleAtHeadline = power?.idleW ?? null
  const levels = (power?.levels ?? []).filter((l) => l.avgW !== null && l.avgW > 0)
  const facility = levels.find((l) => l.boundary === 'facility')
  const scaleIdle = (multiplierFromHeadline: number | null, fallbackMultiplier: number): number | null => {
    if (idleAtHeadline !== null && multiplierFromHeadline !== null) return idleAtHeadline * multiplierFromHeadline
    if (fallback.idleW !== null) return fallback.idleW * fallbackMultiplier
    return null
  }
  if (facility && facility.avgW !== null) {
    const m = headlineW !== null && headlineW > 0 ? facility.avgW / headlineW : null
    if (idleAtHeadline !== null && m !== null) notes.push(`idle power scaled to the facility by ${m.toFixed(3)} (facility ÷ ${power?.boundary} power)`)
    return {
      source: facility.source,
      fromBoundary: 'facility',
      servingW: facility.avgW,
      idleW: scaleIdle(m, 1),
      multiplier: 1,
      relativeInterval: relative(facility),
      notes,
    }
  }
  const best = [...levels].sort((a, b) => ORDER.indexOf(b.boundary) - ORDER.indexOf(a.boundary))[0]
  const base: { boundary: Boundary; avgW: number; rel: { low: number; high: number } | null } | null =
    best && best.avgW !== null
      ? { boundary: best.boundary, avgW: best.avgW, rel: relative(best) }
      : power && power.avgW !== null && power.avgW > 0
        ? { boundary: power.boundary, avgW: power.avgW, rel: power.interval && power.energyJ ? { low: power.interval.low / power.energyJ, high: power.interval.high / power.energyJ } : null }
        : null
  if (base) {
    notes.push(`facility power = ${base.boundary} power × PUE ${pue}`)
    if (base.boundary === 'device') {
      notes.push('device boundary × PUE leaves out host CPUs, memory, NICs, fans and PSU losses: electricity is understated; add a node meter or the attribution model')
    }
    const m = headlineW !== null && headlineW > 0 ? (base.avgW * pue) / headlineW : null
    return {
      source: 'scaled-by-pue',
      fromBoundary: base.boundary,
      servingW: base.avgW * pue,
      idleW: scaleIdle(m, pue),
      multiplier: pue,
      relativeInterval: base.rel,
      notes,
    }
  }
  if (fallback.provisionedItW !== null) {
    notes.push(`no power was measured: electricity priced at provisioned all-in power × PUE ${pue}, an upper bound`)
    return {
      source: 'provisioned',
      fromBoundary: null,
      servingW: fallback.provisionedItW * pue,
      idleW: fallback.idleW !== null ? fallback.idleW * pue : null,
      multiplier: pue,
      relativeInterval: null,
      notes,
    }
  }
  return null
}
