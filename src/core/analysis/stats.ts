import type { Stats } from '../summary.js'

export const EMPTY_STATS: Stats = { count: 0, mean: null, p50: null, p90: null, p95: null, p99: null, max: null, min: null, stddev: null }

/**
 * Percentile of ascending-sorted values by linear interpolation between closest ranks (the
 * definition numpy's default and vLLM/AIPerf use), so figures compare one to one with peers.
 */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number | null {
  const n = sorted.length
  if (n === 0) return null
  if (n === 1) return sorted[0] as number
  const rank = (p / 100) * (n - 1)
  const lo = Math.floor(rank)
  const hi = Math.ceil(rank)
  const a = sorted[lo] as number
  const b = sorted[hi] as number
  return a + (b - a) * (rank - lo)
}

/** mean/p50/p90/p95/p99/max/min/stddev of the values (non-finite values are ignored). */
export function describe(values: ArrayLike<number>): Stats {
  const finite = new Float64Array(values.length)
  let n = 0
  let sum = 0
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number
    if (Number.isFinite(v)) {
      finite[n++] = v
      sum += v
    }
  }
  if (n === 0) return EMPTY_STATS
  const sorted = finite.subarray(0, n).sort()
  const mean = sum / n
  let ss = 0
  for (let i = 0; i < n; i++) ss += ((sorted[i] as number) - mean) ** 2
  return {
    count: n,
    mean,
    p50: percentileSorted(sorted, 50),
    p90: percentileSorted(sorted, 90),
    p95: percentileSorted(sorted, 95),
    p99: percentileSorted(sorted, 99),
    max: sorted[n - 1] as number,
    min: sorted[0] as number,
    stddev: n > 1 ? Math.sqrt(ss / (n - 1)) : 0,
  }
}

/** Picks a percentile out of a Stats by number (50, 90, 95, 99, 100); others interpolate from raw values. */
export function statAt(stats: Stats, p: number): number | null {
  if (p === 50) return stats.p50
  if (p === 90) return stats.p90
  if (p === 95) return stats.p95
  if (p === 99) return stats.p99
  if (p === 100) return stats.max
  return null
}
