import { gridIndices, pointKey, valuesAt, type KnobAxis, type KnobValues } from './knob-spec.js'

/**
 * What the search needs of a measured point: a cost to minimise (the objective, turned so that
 * lower is better) and whether the point met its constraints (SLO). Infeasible points rank after
 * every feasible one, ordered by `violation` (how far they missed), so a search still knows which
 * way feasibility lies.
 */
export interface PointScore {
  readonly cost: number
  readonly feasible: boolean
  /** ≥ 0: relative amount by which the constraints were missed (0 when feasible). */
  readonly violation: number
}

export type Evaluate = (knobs: KnobValues, index: readonly number[]) => Promise<PointScore>

export interface SearchResult {
  readonly bestIndex: readonly number[] | null
  readonly evaluated: number
}

/** Orders two scores: negative when a is better. */
export function compareScores(a: PointScore, b: PointScore): number {
  if (a.feasible !== b.feasible) return a.feasible ? -1 : 1
  if (!a.feasible) return a.violation - b.violation || a.cost - b.cost
  return a.cost - b.cost
}

/** Every point of the grid, in order. */
export async function gridSearch(axes: readonly KnobAxis[], evaluate: Evaluate): Promise<SearchResult> {
  const memo = memoised(axes, evaluate)
  for (const idx of gridIndices(axes)) await memo.score(idx)
  return { bestIndex: memo.best(), evaluated: memo.count() }
}

const PHI = (1 + Math.sqrt(5)) / 2

/**
 * Adaptive: nested discrete golden-section search. The first axis (a load level, say) is searched by
 * golden section, and each of its candidates is scored by the best point of the same search over the
 * remaining axes (the power cap per load level), so the SLO boundary, which runs diagonally (more load
 * needs a higher cap), is followed exactly. Infeasible points rank by how far they miss, so a bracket
 * moves towards feasibility. The inner search starts from the bracket around the last best index
 * and widens only when the best lands on its edge; points already measured are never measured again.
 */
export async function adaptiveSearch(axes: readonly KnobAxis[], evaluate: Evaluate): Promise<SearchResult> {
  const memo = memoised(axes, evaluate)
  const warm: (number | null)[] = axes.map(() => null)
  const search = async (d: number, prefix: readonly number[]): Promise<{ idx: number[]; score: PointScore }> => {
    const n = (axes[d] as KnobAxis).values.length
    const cache = new Map<number, { idx: number[]; score: PointScore }>()
    const value = async (i: number): Promise<{ idx: number[]; score: PointScore }> => {
      const hit = cache.get(i)
      if (hit) return hit
      const r = d === axes.length - 1 ? { idx: [...prefix, i], score: await memo.score([...prefix, i]) } : await search(d + 1, [...prefix, i])
      cache.set(i, r)
      return r
    }
    const w = warm[d] ?? null
    let lo = w === null ? 0 : Math.max(0, w - 3)
    let hi = w === null ? n - 1 : Math.min(n - 1, w + 3)
    let widened: 'up' | 'down' | null = null
    for (;;) {
      let a = lo
      let b = hi
      while (b - a > 2) {
        const c = Math.round(b - (b - a) / PHI)
        const e = Math.max(c + 1, Math.round(a + (b - a) / PHI))
        if (compareScores((await value(c)).score, (await value(e)).score) <= 0) b = e
        else a = c
      }
      let best: { i: number; r: { idx: number[]; score: PointScore } } | null = null
      for (let i = a; i <= b; i++) {
        const r = await value(i)
        if (best === null || compareScores(r.score, best.r.score) < 0) best = { i, r }
      }
      const found = best as { i: number; r: { idx: number[]; score: PointScore } }
      // The best sits on the edge of a narrowed warm bracket: widen towards it and search again.
      if (found.i === lo && lo > 0 && widened !== 'up') {
        widened = 'down'
        lo = Math.max(0, lo - 6)
        continue
      }
      if (found.i === hi && hi < n - 1 && widened !== 'down') {
        widened = 'up'
        hi = Math.min(n - 1, hi + 6)
        continue
      }
      warm[d] = found.i
      return found.r
    }
  }
  await search(0, [])
  return { bestIndex: memo.best(), evaluated: memo.count() }
}

function memoised(axes: readonly KnobAxis[], evaluate: Evaluate): { score(idx: readonly number[]): Promise<PointScore>; best(): number[] | null; count(): number } {
  const seen = new Map<string, { idx: number[]; score: PointScore }>()
  return {
    async score(idx) {
      const knobs = valuesAt(axes, idx)
      const key = pointKey(knobs)
      const hit = seen.get(key)
      if (hit) return hit.score
      const score = await evaluate(knobs, idx)
      seen.set(key, { idx: [...idx], score })
      return score
    },
    best() {
      let best: { idx: number[]; score: PointScore } | null = null
      for (const v of seen.values()) if (best === null || compareScores(v.score, best.score) < 0) best = v
      return best?.idx ?? null
    },
    count: () => seen.size,
  }
}
