/**
 * Which part of one schedule is mine. An execution segment is the `index`-th of `count` disjoint
 * parts of a run's work — arrivals of an open loop, users of a closed loop, sessions, trace rows —
 * so that `count` processes (shards on several hosts, or workers in one) together send exactly the
 * schedule one process would, none twice.
 *
 * As in k6's execution segments (k6 v0.27+, `lib/execution_segment.go`) the parts are striped rather
 * than cut in blocks: item `j` of the schedule belongs to segment `j mod count`. Striping keeps every
 * prefix of the schedule evenly spread, so each part of an open loop runs at `rate / count` with the
 * same burst pattern and a `stop.requests` or `stop.durationS` cut leaves the parts balanced. Only
 * equal parts (`i/n`) are supported; k6's unequal fractions are not needed here.
 *
 * Items are numbered from 0 in schedule order; every part sees the same numbering because every part
 * generates the whole (seeded) schedule and keeps its own items.
 *
 * @example
 * const seg = parseExecutionSegment('1/3')   // { index: 1, count: 3 }
 * ownsItem(seg, 4)                            // true: items 1, 4, 7, … are segment 1's
 * itemsInSegment(seg, 10)                     // 3 (items 1, 4, 7)
 * globalItem(seg, 2)                          // 7: the segment's third item in the whole schedule
 */
export interface ExecutionSegment {
  /** 0-based: 0 .. count − 1. */
  readonly index: number
  readonly count: number
}

/** The whole schedule: one part. */
export const WHOLE_SCHEDULE: ExecutionSegment = Object.freeze({ index: 0, count: 1 })

/** Parses `i/n` (0 ≤ i < n); returns a one-line reason instead of throwing. */
export function parseExecutionSegment(text: string): ExecutionSegment | { readonly error: string } {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text)
  if (!m) return { error: `"${text}" is not i/n (e.g. 0/4 for the first of four parts)` }
  const index = Number(m[1])
  const count = Number(m[2])
  if (!Number.isSafeInteger(count) || count < 1) return { error: `"${text}": the number of parts must be at least 1` }
  if (!Number.isSafeInteger(index) || index >= count) return { error: `"${text}": the part index is 0-based and must be below ${count}` }
  return { index, count }
}

export function isWholeSchedule(seg: ExecutionSegment): boolean {
  return seg.count === 1
}

/** Whether item `j` (0-based, in schedule order) of the whole schedule belongs to this segment. */
export function ownsItem(seg: ExecutionSegment, j: number): boolean {
  return j % seg.count === seg.index
}

/** How many of the first `total` items of the schedule belong to this segment. */
export function itemsInSegment(seg: ExecutionSegment, total: number): number {
  if (total === Infinity) return Infinity
  if (total <= seg.index) return 0
  return Math.floor((total - 1 - seg.index) / seg.count) + 1
}

/** The number, in the whole schedule, of this segment's `k`-th item (0-based). */
export function globalItem(seg: ExecutionSegment, k: number): number {
  return k * seg.count + seg.index
}

/** `i/n`, as the flag takes it. */
export function describeSegment(seg: ExecutionSegment): string {
  return `${seg.index}/${seg.count}`
}
