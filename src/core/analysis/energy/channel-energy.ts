/**
 * Energy of one channel of one meter inside a time window, from either its cumulative counter or its
 * power readings, with coverage and an uncertainty half-width. Pure and unit-explicit: times in ns,
 * energy in J, power in W.
 *
 * Counter: the counter is unwrapped (known modulus) or re-based after a reset (a drop without a
 * modulus), interpolated linearly at the window edges and differenced. Its error bound comes from the
 * edges (how far power changes around each edge reading, and how late a reading may be stamped), the
 * counter's step, any reset gap, and the meter's accuracy.
 *
 * Power: readings are moved back by half the source's averaging window (a 1-s average read at t
 * describes t − 0.5 s), then integrated with the trapezoid rule over the window, with the power at
 * each edge interpolated. Its error bound is half the spread between the left and right Riemann sums
 * (exact bound when power is monotone between readings), the range of power seen over any gap, the
 * reading resolution and the meter's accuracy.
 */
import { NS_PER_S } from '../../units.js'

export interface TimeWindowNs {
  readonly startNs: number
  readonly endNs: number
}

/** How to read one channel. */
export interface ChannelSpec {
  readonly periodMs: number
  readonly averagingWindowMs: number
  readonly accuracyRel: number
  /** Absolute accuracy of a reading of this channel (W). */
  readonly accuracyW: number
  readonly resolutionW: number
  readonly resolutionJ: number
  /** Counter value (J) at which it wraps to zero; undefined when it does not wrap (or is unknown). */
  readonly modulusJ: number | undefined
  /** How far a reading's timestamp may be off (ms), e.g. a CLI's output stamped when it arrives. */
  readonly timeUncertaintyMs?: number
}

export interface ChannelEnergy {
  readonly method: 'counter' | 'trapezoid'
  readonly energyJ: number
  /** Half-width of the interval around energyJ (J). */
  readonly halfWidthJ: number
  /** Share of the window the readings cover (0..1). */
  readonly coverage: number
  /** Readings inside the window (plus the ones bracketing its edges). */
  readonly samples: number
  readonly wraps: number
  readonly resets: number
  /** Gaps longer than the gap threshold inside the window. */
  readonly gaps: number
  readonly notes: readonly string[]
}

export interface Point {
  readonly tNs: number
  readonly v: number
}

/** A reading interval longer than this many sampling periods is a gap. */
const GAP_PERIODS = 2.5
/** ... but never shorter than the period plus this much scheduling jitter. */
const GAP_MIN_SLACK_NS = 50e6
/** A drop that, read as a wrap, implies more than this multiple of the typical rate is a reset. */
const WRAP_RATE_FACTOR = 10

export function gapThresholdNs(periodMs: number): number {
  const periodNs = periodMs * 1e6
  return Math.max(GAP_PERIODS * periodNs, periodNs + GAP_MIN_SLACK_NS)
}

/** Sorts by time and merges readings at the same instant (their mean). */
export function cleanPoints(points: readonly Point[]): Point[] {
  const ps = points.filter((p) => Number.isFinite(p.tNs) && Number.isFinite(p.v)).sort((a, b) => a.tNs - b.tNs)
  const out: Point[] = []
  for (let i = 0; i < ps.length; ) {
    let j = i
    let sum = 0
    while (j < ps.length && (ps[j] as Point).tNs === (ps[i] as Point).tNs) sum += (ps[j++] as Point).v
    out.push({ tNs: (ps[i] as Point).tNs, v: sum / (j - i) })
    i = j
  }
  return out
}

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

/**
 * Energy in the window from a cumulative counter. Returns null when fewer than two readings exist.
 * `points` are raw counter values (J) at local times.
 */
export function counterEnergy(points: readonly Point[], win: TimeWindowNs, spec: ChannelSpec): ChannelEnergy | null {
  const ps = cleanPoints(points)
  if (ps.length < 2 || win.endNs <= win.startNs) return null
  const notes: string[] = []
  const windowS = (win.endNs - win.startNs) / NS_PER_S

  // Typical rate (J/ns) from the forward steps, to tell wraps from resets and to fill reset gaps.
  const rates: number[] = []
  for (let i = 1; i < ps.length; i++) {
    const a = ps[i - 1] as Point
    const b = ps[i] as Point
    if (b.v >= a.v) rates.push((b.v - a.v) / (b.tNs - a.tNs))
  }
  const typicalRate = median(rates)

  // Cumulative energy since the first reading, unwrapped and re-based across resets.
  const cum: number[] = [0]
  const gapAt: { fromNs: number; toNs: number; fillJ: number }[] = []
  let wraps = 0
  let resets = 0
  for (let i = 1; i < ps.length; i++) {
    const a = ps[i - 1] as Point
    const b = ps[i] as Point
    const dtNs = b.tNs - a.tNs
    let d = b.v - a.v
    if (d < 0) {
      const wrapped = spec.modulusJ !== undefined ? d + spec.modulusJ : null
      const plausibleWrap = wrapped !== null && wrapped >= 0 && (typicalRate === null || typicalRate <= 0 || wrapped / dtNs <= WRAP_RATE_FACTOR * typicalRate)
      if (plausibleWrap && wrapped !== null) {
        d = wrapped
        wraps++
      } else {
        // Reset: the counter restarted from ~0 somewhere in (a, b]; b.v is what accrued since then.
        resets++
        const fill = Math.max(b.v, typicalRate !== null ? typicalRate * dtNs : b.v)
        gapAt.push({ fromNs: a.tNs, toNs: b.tNs, fillJ: fill })
        d = fill
      }
    }
    cum.push((cum[i - 1] as number) + d)
  }

  const first = ps[0] as Point
  const last = ps[ps.length - 1] as Point
  let halfWidth = 0
  let uncoveredNs = 0
  const rateForFill = typicalRate ?? ((cum[cum.length - 1] as number) / Math.max(1, last.tNs - first.tNs))

  /** Mean rate (J/ns) over the reading interval [i, i+1], or null outside the series. */
  const rateOf = (i: number): number | null => {
    if (i < 0 || i + 1 >= ps.length) return null
    return ((cum[i + 1] as number) - (cum[i] as number)) / ((ps[i + 1] as Point).tNs - (ps[i] as Point).tNs)
  }
  // The cumulative value at an edge, its bracket error bound, and any extrapolation.
  const at = (tNs: number): { value: number; errJ: number; outsideNs: number } => {
    if (tNs <= first.tNs) {
      const outside = first.tNs - tNs
      return { value: -rateForFill * outside, errJ: rateForFill * outside, outsideNs: outside }
    }
    if (tNs >= last.tNs) {
      const outside = tNs - last.tNs
      return { value: (cum[cum.length - 1] as number) + rateForFill * outside, errJ: rateForFill * outside, outsideNs: outside }
    }
    let lo = 0
    let hi = ps.length - 1
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1
      if ((ps[mid] as Point).tNs <= tNs) lo = mid
      else hi = mid
    }
    const ta = (ps[lo] as Point).tNs
    const tb = (ps[hi] as Point).tNs
    const ca = cum[lo] as number
    const cb = cum[hi] as number
    const f = (tNs - ta) / (tb - ta)
    // If power changes inside the bracket (at worst a step between the lowest and highest rate seen
    // around it), linear interpolation is off by at most f(1−f)·Δt·(rMax − rMin); it never exceeds
    // the bracket itself, since the counter is monotone.
    const r = [rateOf(lo - 1), rateOf(lo), rateOf(lo + 1)].filter((x): x is number => x !== null)
    const spreadJ = r.length > 0 ? (Math.max(...r) - Math.min(...r)) * (tb - ta) : 0
    const errJ = Math.min(f * (1 - f) * spreadJ, Math.max(f, 1 - f) * (cb - ca))
    return { value: ca + f * (cb - ca), errJ, outsideNs: 0 }
  }
  const s = at(win.startNs)
  const e = at(win.endNs)
  let energy = e.value - s.value
  halfWidth += s.errJ + e.errJ
  uncoveredNs += s.outsideNs + e.outsideNs
  if (s.outsideNs > 0 || e.outsideNs > 0) notes.push(`counter readings do not span the window (${((s.outsideNs + e.outsideNs) / NS_PER_S).toFixed(2)} s extrapolated at the mean rate)`)

  for (const g of gapAt) {
    const ov = Math.max(0, Math.min(win.endNs, g.toNs) - Math.max(win.startNs, g.fromNs))
    if (ov > 0) {
      uncoveredNs += ov
      halfWidth += g.fillJ * (ov / (g.toNs - g.fromNs))
      notes.push(`energy counter reset at ${(g.toNs / NS_PER_S).toFixed(2)} s (driver reload or device reset): ${((g.toNs - g.fromNs) / NS_PER_S).toFixed(2)} s filled at the typical rate`)
    }
  }
  if (energy < 0) energy = 0
  // a reading stamped up to δ late moves each edge by up to rate × δ
  const timeJ = 2 * Math.max(0, rateForFill) * (spec.timeUncertaintyMs ?? 0) * 1e6
  halfWidth += 2 * spec.resolutionJ + timeJ + spec.accuracyRel * energy + spec.accuracyW * windowS
  const inside = ps.filter((p) => p.tNs >= win.startNs && p.tNs <= win.endNs).length
  return {
    method: 'counter',
    energyJ: energy,
    halfWidthJ: halfWidth,
    coverage: clamp01(1 - uncoveredNs / (win.endNs - win.startNs)),
    samples: inside + (s.outsideNs === 0 ? 1 : 0) + (e.outsideNs === 0 ? 1 : 0),
    wraps,
    resets,
    gaps: gapAt.length,
    notes,
  }
}

/**
 * Energy in the window from power readings (trapezoid). Returns null when no reading falls inside
 * or brackets the window.
 */
export function trapezoidEnergy(points: readonly Point[], win: TimeWindowNs, spec: ChannelSpec): ChannelEnergy | null {
  const shiftNs = (spec.averagingWindowMs * 1e6) / 2
  const ps = cleanPoints(points.map((p) => ({ tNs: p.tNs - shiftNs, v: p.v })))
  if (ps.length === 0 || win.endNs <= win.startNs) return null
  const first = ps[0] as Point
  const last = ps[ps.length - 1] as Point
  if (last.tNs < win.startNs - gapThresholdNs(spec.periodMs) || first.tNs > win.endNs + gapThresholdNs(spec.periodMs)) return null
  const notes: string[] = []
  const windowNs = win.endNs - win.startNs
  const gapNs = gapThresholdNs(spec.periodMs)
  const periodNs = spec.periodMs * 1e6

  let pMin = Infinity
  let pMax = -Infinity
  for (const p of ps) {
    if (p.tNs >= win.startNs - gapNs && p.tNs <= win.endNs + gapNs) {
      pMin = Math.min(pMin, p.v)
      pMax = Math.max(pMax, p.v)
    }
  }
  if (!Number.isFinite(pMin)) return null
  const spread = pMax - pMin

  let energyWns = 0 // W·ns
  let halfWns = 0
  let uncoveredNs = 0
  let gaps = 0
  let inside = 0
  for (let i = 0; i + 1 < ps.length; i++) {
    const a = ps[i] as Point
    const b = ps[i + 1] as Point
    const lo = Math.max(a.tNs, win.startNs)
    const hi = Math.min(b.tNs, win.endNs)
    if (hi <= lo) continue
    const span = b.tNs - a.tNs
    const pAt = (t: number): number => a.v + ((b.v - a.v) * (t - a.tNs)) / span
    const len = hi - lo
    energyWns += ((pAt(lo) + pAt(hi)) / 2) * len
    let half = (Math.abs(b.v - a.v) * len) / 2
    if (span > gapNs) {
      gaps++
      uncoveredNs += Math.max(0, len - periodNs * (len / span))
      half = Math.max(half, (spread * len) / 2)
    }
    halfWns += half
  }
  for (const p of ps) if (p.tNs >= win.startNs && p.tNs <= win.endNs) inside++
  // Before the first or after the last reading: hold the nearest reading, counted as uncovered.
  const hold = (lenNs: number, edge: number): void => {
    if (lenNs <= 0) return
    energyWns += edge * lenNs
    halfWns += Math.max(spread, 0.25 * Math.abs(edge)) * lenNs
    uncoveredNs += lenNs
  }
  const headNs = Math.max(0, Math.min(first.tNs, win.endNs) - win.startNs)
  const tailNs = Math.max(0, win.endNs - Math.max(last.tNs, win.startNs))
  hold(headNs, first.v)
  hold(tailNs, last.v)
  if (headNs + tailNs > Math.max(periodNs, 0)) notes.push(`power readings do not span the window (${((headNs + tailNs) / NS_PER_S).toFixed(2)} s held at the nearest reading)`)
  if (gaps > 0) notes.push(`${gaps} gap${gaps === 1 ? '' : 's'} longer than ${(gapNs / 1e6).toFixed(0)} ms between power readings`)

  const energyJ = energyWns / NS_PER_S
  const windowS = windowNs / NS_PER_S
  // readings stamped up to δ off shift the edges by up to δ at the highest power seen
  const timeJ = 2 * Math.max(Math.abs(pMax), Math.abs(pMin)) * ((spec.timeUncertaintyMs ?? 0) / 1000)
  const halfWidthJ = halfWns / NS_PER_S + timeJ + 0.5 * spec.resolutionW * windowS + spec.accuracyRel * Math.abs(energyJ) + spec.accuracyW * windowS
  return {
    method: 'trapezoid',
    energyJ,
    halfWidthJ,
    coverage: clamp01(1 - uncoveredNs / windowNs),
    samples: inside + (headNs === 0 ? 1 : 0) + (tailNs === 0 ? 1 : 0),
    wraps: 0,
    resets: 0,
    gaps,
    notes,
  }
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x
}
