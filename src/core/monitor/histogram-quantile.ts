/**
 * Quantiles from cumulative Prometheus histogram buckets (`le` upper bounds, counts of
 * observations ≤ le), with the semantics of PromQL's `histogram_quantile`: find the bucket the rank
 * falls in, interpolate linearly inside it (the first bucket's lower bound is 0), and answer the
 * highest finite bound when the rank lands in the `+Inf` bucket. Null when nothing was observed.
 */

/** Bucket upper bound (may be Infinity) → cumulative count. */
export type Buckets = ReadonlyMap<number, number>

export function histogramQuantile(q: number, buckets: Buckets): number | null {
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0])
  if (sorted.length === 0) return null
  // Cumulative counts must not fall (they can, in a window that sums deltas across a reset): clamp.
  let running = 0
  const cum = sorted.map(([le, c]) => {
    running = Math.max(running, c)
    return [le, running] as const
  })
  const last = cum[cum.length - 1] as readonly [number, number]
  const total = last[0] === Infinity ? last[1] : last[1]
  if (!(total > 0)) return null
  const rank = Math.min(Math.max(q, 0), 1) * total
  let lowerBound = 0
  let lowerCount = 0
  for (const [le, c] of cum) {
    if (c >= rank) {
      if (le === Infinity) return lowerBound
      if (c === lowerCount) return le
      return lowerBound + ((le - lowerBound) * (rank - lowerCount)) / (c - lowerCount)
    }
    lowerBound = le
    lowerCount = c
  }
  return lowerBound
}

/** Adds bucket counts (e.g. the per-scrape increases of several replicas) into `into`. */
export function addBuckets(into: Map<number, number>, from: Buckets): void {
  for (const [le, c] of from) into.set(le, (into.get(le) ?? 0) + c)
}

/** Parses an `le` label (`0.5`, `+Inf`). */
export function parseLe(le: string | undefined): number | null {
  if (le === undefined) return null
  if (le === '+Inf' || le === 'Inf') return Infinity
  const n = Number(le)
  return Number.isFinite(n) ? n : null
}
