import type { PowerSample } from '../records.js'
import { mser5 } from './steady-window.js'

/** Fewer bins than this and MSER-5 has nothing to say about the power series. */
const MIN_BINS = 10
const MAX_BINS = 100

export interface PowerSettle {
  /** Where the power series is steady (ns from the run epoch), at or after `fromNs`. */
  readonly startNs: number
  /** Which meter's series judged it. */
  readonly meterId: string
  readonly bins: number
}

/** Power readings of one channel in time order: the source's power, else the energy counter's slope. */
export function channelPower(samples: readonly PowerSample[]): { atNs: number; powerW: number }[] {
  const out: { atNs: number; powerW: number }[] = []
  let prev: PowerSample | null = null
  for (const s of samples) {
    if (s.powerW !== null) out.push({ atNs: s.atNs, powerW: s.powerW })
    else if (s.energyJ !== null && prev?.energyJ != null && s.atNs > prev.atNs && s.energyJ >= prev.energyJ) {
      out.push({ atNs: (s.atNs + prev.atNs) / 2, powerW: ((s.energyJ - prev.energyJ) * 1e9) / (s.atNs - prev.atNs) })
    }
    prev = s
  }
  return out
}

/** A meter's power summed over its channels in equal bins of a span (W per bin). */
export interface BinnedPower {
  readonly meterId: string
  readonly fromNs: number
  readonly binNs: number
  readonly powerW: readonly number[]
}

/**
 * The power of the meter with the most readings per channel inside `[fromNs, toNs]` (among `meterIds`
 * when given), summed over its channels in at most `maxBins` equal bins, one reading per channel per bin
 * at least on average. A bin without a reading carries the channel's last value forward. Null when no
 * meter has `minBins` readings per channel there.
 */
export function binPower(samples: readonly PowerSample[], fromNs: number, toNs: number, opts: { readonly maxBins: number; readonly minBins: number; readonly meterIds?: ReadonlySet<string> }): BinnedPower | null {
  if (!(toNs > fromNs)) return null
  const byMeter = new Map<string, Map<string, PowerSample[]>>()
  for (const s of samples) {
    if (opts.meterIds && !opts.meterIds.has(s.meterId)) continue
    let channels = byMeter.get(s.meterId)
    if (channels === undefined) byMeter.set(s.meterId, (channels = new Map()))
    const list = channels.get(s.channel)
    if (list === undefined) channels.set(s.channel, [s])
    else list.push(s)
  }
  let best: { meterId: string; channels: { atNs: number; powerW: number }[][]; n: number } | null = null
  for (const [meterId, channels] of byMeter) {
    const series = [...channels.values()].map((c) => channelPower([...c].sort((a, b) => a.atNs - b.atNs)).filter((p) => p.atNs >= fromNs && p.atNs <= toNs))
    const n = Math.min(...series.map((c) => c.length))
    if (series.length > 0 && n > (best?.n ?? 0)) best = { meterId, channels: series, n }
  }
  if (best === null) return null
  const bins = Math.min(opts.maxBins, best.n)
  if (bins < opts.minBins) return null
  const binNs = (toNs - fromNs) / bins
  const total = new Array<number>(bins).fill(0)
  for (const c of best.channels) {
    const sum = new Array<number>(bins).fill(0)
    const count = new Array<number>(bins).fill(0)
    for (const p of c) {
      const b = Math.min(bins - 1, Math.floor((p.atNs - fromNs) / binNs))
      sum[b] = (sum[b] as number) + p.powerW
      count[b] = (count[b] as number) + 1
    }
    let last = c[0]?.powerW ?? 0
    for (let b = 0; b < bins; b++) {
      if ((count[b] as number) > 0) last = (sum[b] as number) / (count[b] as number)
      total[b] = (total[b] as number) + last
    }
  }
  return { meterId: best.meterId, fromNs, binNs, powerW: total }
}

/**
 * Where the power a meter reads has settled inside `[fromNs, toNs]` (the load's steady window): the
 * same MSER-5 truncation the window applies to the token rate, on the meter's power summed over its
 * channels in equal bins. A knob change (a power cap, a clock lock) can move power for a while after
 * throughput has settled (firmware ramps, thermals); this finds the end of that transient. The meter
 * with the most readings in the span judges. Null when no meter has at least ten readings per
 * channel there (too sparse to judge).
 */
export function findPowerSettle(samples: readonly PowerSample[], fromNs: number, toNs: number): PowerSettle | null {
  const binned = binPower(samples, fromNs, toNs, { maxBins: MAX_BINS, minBins: MIN_BINS })
  if (binned === null) return null
  const cut = mser5(binned.powerW)
  return { startNs: fromNs + cut * binned.binNs, meterId: binned.meterId, bins: binned.powerW.length }
}
