/**
 * How far a remote clock (a BMC, a PDU, a Prometheus server) is from ours, so its timestamps can be
 * placed on the run's timeline and the offset reported with the run.
 *
 * Each observation says: at some moment between our `sendWallMs` and `recvWallMs`, the remote clock
 * read something in `[remoteLowMs, remoteHighMs]` (an HTTP `Date` header has 1 s resolution, so
 * `[D, D + 1000)`; a Prometheus evaluation timestamp is exact to the millisecond). The offset
 * `remote − local` therefore lies in `[remoteLowMs − recvWallMs, remoteHighMs − sendWallMs]`.
 * Intersecting these intervals over many polls narrows a 1 s header to about the round-trip time,
 * because polls cross the remote's second boundaries at different phases. When a new interval no
 * longer meets the running one (the remote clock was stepped, or drifted), the estimate restarts
 * from the new observation and the step is counted.
 */
export interface ClockOffset {
  /** Remote minus local wall clock (ms): remote time = local time + offsetMs. */
  readonly offsetMs: number
  /** Half-width of the interval the true offset lies in (ms). */
  readonly uncertaintyMs: number
  readonly observations: number
  /** Times the remote clock jumped outside the running estimate. */
  readonly steps: number
  /** What the remote time came from (`http-date`, `prometheus-eval`, ...). */
  readonly source: string
}

export class ClockOffsetEstimator {
  private lowMs = -Infinity
  private highMs = Infinity
  private observations = 0
  private steps = 0

  constructor(readonly source: string) {}

  observe(remoteLowMs: number, remoteHighMs: number, sendWallMs: number, recvWallMs: number): void {
    if (!Number.isFinite(remoteLowMs) || !Number.isFinite(remoteHighMs) || recvWallMs < sendWallMs) return
    const low = remoteLowMs - recvWallMs
    const high = remoteHighMs - sendWallMs
    if (this.observations > 0 && (low > this.highMs || high < this.lowMs)) {
      this.steps++
      this.lowMs = low
      this.highMs = high
    } else {
      this.lowMs = Math.max(this.lowMs, low)
      this.highMs = Math.min(this.highMs, high)
    }
    this.observations++
  }

  /** Observes an HTTP `Date` header (RFC 7231, whole seconds). Ignores a missing or garbled one. */
  observeHttpDate(dateHeader: string | undefined, sendWallMs: number, recvWallMs: number): void {
    if (dateHeader === undefined) return
    const remoteMs = Date.parse(dateHeader)
    if (Number.isNaN(remoteMs)) return
    this.observe(remoteMs, remoteMs + 999.999, sendWallMs, recvWallMs)
  }

  current(): ClockOffset | null {
    if (this.observations === 0) return null
    return {
      offsetMs: (this.lowMs + this.highMs) / 2,
      uncertaintyMs: (this.highMs - this.lowMs) / 2,
      observations: this.observations,
      steps: this.steps,
      source: this.source,
    }
  }

  /** The interval the offset lies in (ms), or null before any observation. */
  bounds(): { readonly lowMs: number; readonly highMs: number } | null {
    return this.observations === 0 ? null : { lowMs: this.lowMs, highMs: this.highMs }
  }
}

/** Formats an offset for a preflight or status line: `+1234 ms ±12 ms (http-date, 8 observations)`. */
export function describeClockOffset(o: ClockOffset | null): string {
  if (o === null) return 'clock offset: not measured yet'
  const sign = o.offsetMs >= 0 ? '+' : '−'
  return `clock offset ${sign}${Math.abs(o.offsetMs).toFixed(0)} ms ±${o.uncertaintyMs.toFixed(0)} ms (${o.source}, ${o.observations} observation${o.observations === 1 ? '' : 's'}${o.steps > 0 ? `, ${o.steps} step${o.steps === 1 ? '' : 's'}` : ''})`
}
