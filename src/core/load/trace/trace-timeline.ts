import type { TraceConfig } from '../../config/trace-schema.js'

/**
 * Places trace timestamps on the replay's absolute schedule: the first row is trace time 0; rows
 * before `startOffsetS` are skipped and the replay ends after `durationS` trace seconds; every gap
 * between consecutive placed rows is capped at `maxIdleGapS` (trace seconds), then the whole is
 * divided by `timeScale`. Rows must come in time order (an earlier row is placed at the current time).
 */
export class TraceTimeline {
  private originMs: number | null = null
  private prevRelMs: number
  private virtualMs = 0
  private readonly startMs: number
  private readonly endMs: number
  private readonly capMs: number

  constructor(private readonly cfg: Pick<TraceConfig, 'timeScale' | 'maxIdleGapS' | 'startOffsetS' | 'durationS'>) {
    this.startMs = cfg.startOffsetS * 1000
    this.endMs = cfg.durationS === undefined ? Infinity : this.startMs + cfg.durationS * 1000
    this.capMs = cfg.maxIdleGapS === undefined ? Infinity : cfg.maxIdleGapS * 1000
    this.prevRelMs = this.startMs
  }

  /** Offset (ns from the replay start) to send a row stamped `timestampMs`, or 'before' / 'after' the slice. */
  place(timestampMs: number): number | 'before' | 'after' {
    if (this.originMs === null) this.originMs = timestampMs
    const rel = timestampMs - this.originMs
    if (rel < this.startMs) return 'before'
    if (rel > this.endMs) return 'after'
    const gap = Math.max(0, rel - this.prevRelMs)
    this.virtualMs += Math.min(gap, this.capMs)
    this.prevRelMs = Math.max(this.prevRelMs, rel)
    return (this.virtualMs / this.cfg.timeScale) * 1e6
  }
}
