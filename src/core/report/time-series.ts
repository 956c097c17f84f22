import { effectiveChunkTokens } from '../analysis/request-metrics.js'
import type { PowerSample, RequestRecord } from '../records.js'
import { NS_PER_S } from '../units.js'

/** One time bin of the run: output tokens delivered per second and mean requests in flight. */
export interface LoadPoint {
  /** Bin start, seconds from run start. */
  readonly tS: number
  readonly outputTokensPerS: number
  readonly inFlight: number
}

export interface PowerSeries {
  readonly meterId: string
  readonly boundary: string
  readonly kind: string
  readonly measured: boolean
  readonly channels: number
  /** Mean power per bin, summed over the meter's channels; bins where a channel had no data are left out. */
  readonly points: readonly { readonly tS: number; readonly w: number }[]
}

const NICE_STEPS_S = [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600]

/** A round bin width giving at most `maxBins` bins over `spanS`. */
export function niceBinS(spanS: number, maxBins: number): number {
  const raw = spanS / Math.max(1, maxBins)
  for (const s of NICE_STEPS_S) if (s >= raw) return s
  return Math.ceil(raw / 3600) * 3600
}

/** Last instant anything happened in the run (ns): a request end or a power sample. */
export function runSpanNs(requests: readonly RequestRecord[], samples: readonly PowerSample[]): number {
  let end = 0
  for (const r of requests) {
    const e = r.lastByteAtNs ?? r.sentAtNs
    if (e > end) end = e
  }
  for (const s of samples) if (s.atNs > end) end = s.atNs
  return end
}

/**
 * Output tokens per second (by chunk arrival, as the throughput metric counts them) and the mean
 * number of requests in flight, per bin. Linear in chunks: 100k requests × 128 chunks is ~13M steps.
 */
export function loadSeries(requests: readonly RequestRecord[], binS: number, spanNs: number): LoadPoint[] {
  const binNs = binS * NS_PER_S
  const n = Math.max(1, Math.ceil(spanNs / binNs))
  const tokens = new Float64Array(n)
  const occupancy = new Float64Array(n)
  const fullBins = new Float64Array(n + 1)
  for (const r of requests) {
    const chunkTokens = effectiveChunkTokens(r)
    const at = r.chunkAtNs
    for (let i = 0; i < at.length; i++) {
      const b = Math.min(n - 1, Math.max(0, Math.floor((at[i] as number) / binNs)))
      tokens[b] = (tokens[b] as number) + (chunkTokens[i] ?? 1)
    }
    const s = Math.max(0, r.sentAtNs)
    const e = Math.max(s, r.lastByteAtNs ?? r.sentAtNs)
    const sb = Math.min(n - 1, Math.floor(s / binNs))
    const eb = Math.min(n - 1, Math.floor(e / binNs))
    if (sb === eb) occupancy[sb] = (occupancy[sb] as number) + (e - s) / binNs
    else {
      occupancy[sb] = (occupancy[sb] as number) + ((sb + 1) * binNs - s) / binNs
      occupancy[eb] = (occupancy[eb] as number) + (e - eb * binNs) / binNs
      fullBins[sb + 1] = (fullBins[sb + 1] as number) + 1
      fullBins[eb] = (fullBins[eb] as number) - 1
    }
  }
  const out: LoadPoint[] = []
  let running = 0
  for (let b = 0; b < n; b++) {
    running += fullBins[b] as number
    out.push({ tS: b * binS, outputTokensPerS: (tokens[b] as number) / binS, inFlight: (occupancy[b] as number) + running })
  }
  return out
}

interface ChannelBins {
  sum: Float64Array
  count: Uint32Array
}

/**
 * Power per meter over time (mean per bin, channels summed; a channel sampled less often than the
 * bins holds its last value between samples). Channels that report only an energy counter get power
 * from counter differences (a step backwards — a wrap or reset — is skipped, not drawn as a spike).
 */
export function powerSeries(
  samples: readonly PowerSample[],
  meters: readonly { readonly id: string; readonly boundary: string; readonly kind: string; readonly measured: boolean }[],
  binS: number,
  spanNs: number,
): PowerSeries[] {
  const binNs = binS * NS_PER_S
  const n = Math.max(1, Math.ceil(spanNs / binNs))
  const byMeter = new Map<string, Map<string, ChannelBins>>()
  const lastCounter = new Map<string, { atNs: number; energyJ: number }>()
  for (const s of samples) {
    let w = s.powerW
    const key = `${s.meterId}\u0000${s.channel}`
    if (s.energyJ !== null) {
      const prev = lastCounter.get(key)
      lastCounter.set(key, { atNs: s.atNs, energyJ: s.energyJ })
      if (w === null && prev && s.atNs > prev.atNs && s.energyJ >= prev.energyJ) w = ((s.energyJ - prev.energyJ) * NS_PER_S) / (s.atNs - prev.atNs)
    }
    if (w === null || !Number.isFinite(w)) continue
    let channels = byMeter.get(s.meterId)
    if (!channels) byMeter.set(s.meterId, (channels = new Map()))
    let bins = channels.get(s.channel)
    if (!bins) channels.set(s.channel, (bins = { sum: new Float64Array(n), count: new Uint32Array(n) }))
    const b = Math.min(n - 1, Math.max(0, Math.floor(s.atNs / binNs)))
    bins.sum[b] = (bins.sum[b] as number) + w
    bins.count[b] = (bins.count[b] as number) + 1
  }
  const info = new Map(meters.map((m) => [m.id, m]))
  const out: PowerSeries[] = []
  for (const [meterId, channels] of byMeter) {
    const points: { tS: number; w: number }[] = []
    const list = [...channels.values()].map((c) => {
      let first = -1
      let last = -1
      for (let b = 0; b < n; b++) if ((c.count[b] as number) > 0) {
        if (first < 0) first = b
        last = b
      }
      return { ...c, first, last, held: NaN }
    })
    for (let b = 0; b < n; b++) {
      let total = 0
      let complete = true
      for (const c of list) {
        // A channel sampled less often than the bins holds its last value between its samples.
        const k = c.count[b] as number
        if (k > 0) c.held = (c.sum[b] as number) / k
        if (b < c.first || b > c.last || Number.isNaN(c.held)) complete = false
        else total += c.held
      }
      if (complete) points.push({ tS: b * binS, w: total })
    }
    const m = info.get(meterId)
    out.push({ meterId, boundary: m?.boundary ?? 'unknown', kind: m?.kind ?? 'unknown', measured: m?.measured ?? true, channels: list.length, points })
  }
  return out.sort((a, b) => a.meterId.localeCompare(b.meterId))
}
