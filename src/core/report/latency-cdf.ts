import { effectiveChunkTokens, requestTimings } from '../analysis/request-metrics.js'
import type { RequestRecord } from '../records.js'
import { NS_PER_MS } from '../units.js'

export type CdfMetric = 'ttft' | 'tpot' | 'itl' | 'e2e' | 'task'

export const CDF_LABELS: Readonly<Record<CdfMetric, string>> = {
  ttft: 'TTFT',
  tpot: 'TPOT',
  itl: 'ITL',
  e2e: 'E2E latency',
  task: 'Task latency',
}

export interface CdfSeries {
  readonly metric: CdfMetric
  readonly label: string
  readonly unit: 'ms'
  /** Values the curve was drawn from (all of them, or the systematic sample for ITL). */
  readonly count: number
  /** Total values before sampling. */
  readonly population: number
  readonly points: readonly { readonly ms: number; readonly p: number }[]
}

/** Inter-token gaps kept for the ITL curve; beyond this a systematic (every k-th) sample is drawn. */
const MAX_ITL_VALUES = 200_000
const CDF_POINTS = 200

function cdf(metric: CdfMetric, values: Float64Array, population: number): CdfSeries {
  values.sort()
  const points: { ms: number; p: number }[] = []
  const n = values.length
  if (n > 0) {
    const steps = Math.min(CDF_POINTS, n)
    for (let i = 0; i <= steps; i++) {
      const p = i / steps
      const idx = Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))
      points.push({ ms: values[idx] as number, p })
    }
  }
  return { metric, label: CDF_LABELS[metric], unit: 'ms', count: n, population, points }
}

/**
 * Empirical CDFs of TTFT, TPOT, ITL and E2E over successful requests that ended in the steady window
 * (the requests the summary's latency figures are over), each reduced to ~200 points for drawing.
 */
export function latencyCdfs(requests: readonly RequestRecord[], window: { readonly startNs: number; readonly endNs: number }): CdfSeries[] {
  const ttft: number[] = []
  const tpot: number[] = []
  const e2e: number[] = []
  const ok: RequestRecord[] = []
  let gaps = 0
  for (const r of requests) {
    if (r.phase !== 'measure' || r.error !== null) continue
    const end = r.lastByteAtNs ?? r.sentAtNs
    if (end < window.startNs || end > window.endNs) continue
    ok.push(r)
    gaps += Math.max(0, r.chunkAtNs.length - 1)
    const t = requestTimings(r)
    if (t.ttftNs !== null) ttft.push(t.ttftNs / NS_PER_MS)
    if (t.tpotNs !== null) tpot.push(t.tpotNs / NS_PER_MS)
    if (t.e2eNs !== null) e2e.push(t.e2eNs / NS_PER_MS)
  }
  // ITL as interTokenGapsNs defines it (gap ÷ tokens the later chunk carried), computed only for the
  // sampled gaps: 100k requests carry ~10M gaps, and materialising them all costs a second.
  const stride = Math.max(1, Math.ceil(gaps / MAX_ITL_VALUES))
  const itl: number[] = []
  let next = 0
  let k = 0
  for (const r of ok) {
    const m = r.chunkAtNs.length - 1
    if (m <= 0) continue
    if (k + m <= next) {
      k += m
      continue
    }
    const tokens = effectiveChunkTokens(r)
    for (let i = next - k + 1; i <= m; i += stride) {
      const gap = (r.chunkAtNs[i] as number) - (r.chunkAtNs[i - 1] as number)
      const t = tokens[i] ?? 1
      itl.push((t > 0 ? gap / t : gap) / NS_PER_MS)
      next += stride
    }
    k += m
  }
  return [
    cdf('ttft', Float64Array.from(ttft), ttft.length),
    cdf('tpot', Float64Array.from(tpot), tpot.length),
    cdf('itl', Float64Array.from(itl), gaps),
    cdf('e2e', Float64Array.from(e2e), e2e.length),
  ]
}
