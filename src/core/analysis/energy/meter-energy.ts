/**
 * Energy per meter and per channel in a window. A meter's total adds up only its top-level channels:
 * a channel `parent/child` is contained in `parent` (a RAPL subzone in its package, an outlet in its
 * inlet) and is reported but never added when its parent is also read.
 */
import type { MeterInfo } from '../../ports.js'
import type { PowerSample } from '../../records.js'
import { NS_PER_S } from '../../units.js'
import { type ChannelEnergy, type ChannelSpec, counterEnergy, type Point, type TimeWindowNs, trapezoidEnergy } from './channel-energy.js'

/** Counter and power disagreeing by more than this share is worth a warning (AMD counters stall). */
const COUNTER_POWER_TOLERANCE = 0.3

export interface ChannelResult extends ChannelEnergy {
  readonly channel: string
  /** Contained in another channel of the same meter that is also read. */
  readonly nested: boolean
  /** Trapezoid over the power readings of a counter channel, as a cross-check. */
  readonly powerEnergyJ: number | null
}

export interface MeterEnergy {
  readonly info: MeterInfo
  readonly channels: readonly ChannelResult[]
  /** Top-level channels only; null when no channel could be computed. */
  readonly energyJ: number | null
  readonly halfWidthJ: number
  readonly coverage: number
  readonly method: 'counter' | 'trapezoid'
  readonly samples: number
  readonly warnings: readonly string[]
}

/** Samples grouped by meter id, then channel, sorted by time. */
export type SampleIndex = ReadonlyMap<string, ReadonlyMap<string, readonly PowerSample[]>>

export function indexSamples(samples: readonly PowerSample[]): SampleIndex {
  const byMeter = new Map<string, Map<string, PowerSample[]>>()
  for (const s of samples) {
    let byChannel = byMeter.get(s.meterId)
    if (!byChannel) byMeter.set(s.meterId, (byChannel = new Map()))
    let list = byChannel.get(s.channel)
    if (!list) byChannel.set(s.channel, (list = []))
    list.push(s)
  }
  for (const m of byMeter.values()) for (const list of m.values()) list.sort((a, b) => a.atNs - b.atNs)
  return byMeter
}

/** Whether `channel` is contained in another channel of the list (`package-0/core` in `package-0`). */
export function isNested(channel: string, all: readonly string[]): boolean {
  for (const p of all) if (p !== channel && channel.startsWith(`${p}/`)) return true
  return false
}

function channelSpec(info: MeterInfo, channel: string): ChannelSpec {
  return {
    periodMs: info.periodMs,
    averagingWindowMs: info.averagingWindowMs,
    accuracyRel: info.accuracyRel,
    accuracyW: info.accuracyW,
    resolutionW: info.resolutionW ?? 0,
    resolutionJ: info.resolutionJ ?? 0,
    modulusJ: info.counterModulusJ?.[channel],
    ...(info.timeUncertaintyMs !== undefined ? { timeUncertaintyMs: info.timeUncertaintyMs } : {}),
  }
}

/** Energy of every channel of one meter in the window, and the meter's total. */
export function meterEnergy(info: MeterInfo, byChannel: ReadonlyMap<string, readonly PowerSample[]> | undefined, win: TimeWindowNs): MeterEnergy {
  const warnings: string[] = []
  const names = [...(byChannel?.keys() ?? [])].sort()
  const channels: ChannelResult[] = []
  let samples = 0
  for (const channel of names) {
    const list = byChannel?.get(channel) ?? []
    samples += list.length
    const spec = channelSpec(info, channel)
    const energyPts: Point[] = []
    const powerPts: Point[] = []
    for (const s of list) {
      if (s.energyJ !== null) energyPts.push({ tNs: s.atNs, v: s.energyJ })
      if (s.powerW !== null) powerPts.push({ tNs: s.atNs, v: s.powerW })
    }
    const byCounter = info.hasCounter && energyPts.length >= 2 ? counterEnergy(energyPts, win, spec) : null
    const byPower = powerPts.length > 0 ? trapezoidEnergy(powerPts, win, spec) : null
    const chosen = byCounter ?? byPower
    if (info.hasCounter && byCounter === null && byPower !== null) warnings.push(`${info.id} ${channel}: no energy counter readings; integrated power instead`)
    if (chosen === null) {
      warnings.push(`${info.id} ${channel}: no readings in the window`)
      continue
    }
    const powerEnergyJ = byCounter !== null && byPower !== null ? byPower.energyJ : null
    if (byCounter !== null && byPower !== null && byPower.coverage > 0.9 && byPower.energyJ > 0) {
      const diff = (byCounter.energyJ - byPower.energyJ) / byPower.energyJ
      if (Math.abs(diff) > COUNTER_POWER_TOLERANCE)
        warnings.push(`${info.id} ${channel}: energy counter and power readings disagree by ${(diff * 100).toFixed(0)} % (a stalled or reset counter?)`)
    }
    for (const n of chosen.notes) warnings.push(`${info.id} ${channel}: ${n}`)
    channels.push({ ...chosen, channel, nested: false, powerEnergyJ })
  }
  const computed = channels.map((c) => c.channel)
  const marked = channels.map((c) => ({ ...c, nested: isNested(c.channel, computed) }))
  const top = marked.filter((c) => !c.nested)
  const energyJ = top.length > 0 ? top.reduce((s, c) => s + c.energyJ, 0) : null
  return {
    info,
    channels: marked,
    energyJ,
    halfWidthJ: top.reduce((s, c) => s + c.halfWidthJ, 0),
    coverage: top.length > 0 ? Math.min(...top.map((c) => c.coverage)) : 0,
    method: top.length > 0 && top.every((c) => c.method === 'counter') ? 'counter' : 'trapezoid',
    samples,
    warnings,
  }
}

/** Average power (W) over a window from an energy (J). */
export function avgW(energyJ: number | null, win: TimeWindowNs): number | null {
  const s = (win.endNs - win.startNs) / NS_PER_S
  return energyJ === null || s <= 0 ? null : energyJ / s
}

/**
 * Median offset (ms) of the source's own clock from ours: sourceTimeMs minus our wall time at atNs.
 * Needs the run's wall anchor; null when the meter gives no timestamps.
 */
export function clockOffsetMs(byChannel: ReadonlyMap<string, readonly PowerSample[]> | undefined, anchor: { atNs: number; wallMs: number } | null): number | null {
  if (!anchor || !byChannel) return null
  const offs: number[] = []
  for (const list of byChannel.values())
    for (const s of list) if (s.sourceTimeMs !== null) offs.push(s.sourceTimeMs - (anchor.wallMs + (s.atNs - anchor.atNs) / 1e6))
  if (offs.length === 0) return null
  offs.sort((a, b) => a - b)
  const m = offs.length >> 1
  return offs.length % 2 === 1 ? (offs[m] as number) : ((offs[m - 1] as number) + (offs[m] as number)) / 2
}
