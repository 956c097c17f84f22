import type { Clock } from '../../../core/ports.js'

/** Reads CLOCK_REALTIME as `[seconds, nanoseconds]`. */
export type ReadRealtime = () => readonly [number, number]

/** A bracket wider than this is retried: the thread was preempted between the clock reads. */
const TIGHT_NS = 2_000
const TRIES = 4
/** The offset is taken again once it is this old, so the clocks' drift (NTP slewing) cannot add up. */
const RESYNC_NS = 1_000_000

/**
 * Moves kernel timestamps (CLOCK_REALTIME) onto the run's monotonic clock. The offset between the two
 * clocks is taken by bracketing: realtime, monotonic, realtime, with the monotonic reading set against
 * the midpoint, so its error is at most half the bracket. A bracket the scheduler widened (a
 * preemption between two reads on a loaded machine) is retried and the tightest one kept; reading the
 * two clocks one after the other instead would date the stamp early by the whole preemption.
 *
 * One bridge serves all of a client's connections (the offset belongs to the two clocks, not to a
 * socket), and it is taken again once it is 1 ms old, so slewing (0.05 % under ntpd) moves a stamp by
 * under a microsecond while a busy client syncs at most a thousand times a second, not once per read.
 * A stamp is never dated after the run-clock reading taken right after its read.
 */
export class RealtimeBridge {
  /** Whole seconds subtracted from every realtime reading, so sums stay below 2^53 ns. */
  private baseS: number | null = null
  /** Realtime (relative to baseS) minus the run clock, in ns. */
  private offsetNs = 0
  /** The run clock when the offset was last taken. */
  private syncedAtNs = Number.NEGATIVE_INFINITY

  constructor(
    private readonly readRealtime: ReadRealtime,
    private readonly clock: Pick<Clock, 'nowNs'>,
  ) {}

  /** Takes the offset afresh; returns the bracket of its best try, in ns. */
  sync(): number {
    let bestSpanNs = Number.POSITIVE_INFINITY
    for (let i = 0; i < TRIES && bestSpanNs > TIGHT_NS; i++) {
      const before = this.relNs(...this.readRealtime())
      const monoNs = this.clock.nowNs()
      const after = this.relNs(...this.readRealtime())
      const spanNs = Math.abs(after - before) // realtime may step back (settimeofday) mid-bracket
      if (spanNs >= bestSpanNs) continue
      bestSpanNs = spanNs
      this.offsetNs = (before + after) / 2 - monoNs
      this.syncedAtNs = monoNs
    }
    return bestSpanNs
  }

  /**
   * A kernel timestamp on the run's clock, never later than `readAtNs` (the run clock read right after
   * the read that carried it); the offset is taken again first when it is older than 1 ms.
   */
  toRunNs(stampS: number, stampNsPart: number, readAtNs: number): number {
    if (!(readAtNs - this.syncedAtNs < RESYNC_NS)) this.sync()
    return Math.min(readAtNs, this.relNs(stampS, stampNsPart) - this.offsetNs)
  }

  private relNs(s: number, ns: number): number {
    this.baseS ??= s
    return (s - this.baseS) * 1e9 + ns
  }
}
