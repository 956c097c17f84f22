/** The longest a scheduled request is handed over early, and so the longest its write may spin. */
export const MAX_SEND_LEAD_NS = 2_000_000
/** Before any request has been measured. */
const INITIAL_SEND_LEAD_NS = 1_000_000
const MIN_SEND_LEAD_NS = 100_000
/** Hand-over lags remembered, and the share of them the lead covers. */
const WINDOW = 64
const COVER = 0.95
/** Added to the covered lag: the time from the write check to the write itself. */
const MARGIN_NS = 50_000

/**
 * How long before its scheduled instant a request must be handed to the client for the client to be
 * ready to write it on time. Between `send()` and the write undici has work of its own: a microtask,
 * then one whole event-loop turn before it reuses an idle keep-alive socket (GHSA-35p6-xmwp-9g52),
 * or a message to a load thread first. That lag is measured on every scheduled request; the lead is
 * its 95th percentile over the last 64 plus 50 µs, between 0.1 and 2 ms. The client spins out the
 * rest of the lead right before the write, so the write happens on the schedule, not after it.
 *
 * @example
 * const lead = new SendLead()
 * lead.observe(420_000) // this request was ready to be written 0.42 ms after it was handed over
 * lead.ns              // hand the next one over this long before it is due
 */
export class SendLead {
  private readonly lags = new Float64Array(WINDOW)
  private seen = 0
  private leadNs = INITIAL_SEND_LEAD_NS

  get ns(): number {
    return this.leadNs
  }

  /** One scheduled request's time from hand-over to being ready to write. */
  observe(lagNs: number): void {
    this.lags[this.seen % WINDOW] = Math.max(0, lagNs)
    this.seen++
    if (this.seen % 8 !== 0) return
    const n = Math.min(this.seen, WINDOW)
    const sorted = this.lags.slice(0, n).sort()
    const covered = sorted[Math.min(n - 1, Math.ceil(COVER * n) - 1)] ?? 0
    this.leadNs = Math.min(MAX_SEND_LEAD_NS, Math.max(MIN_SEND_LEAD_NS, covered + MARGIN_NS))
  }
}

/**
 * Busy-waits until `atNs` on `nowNs`, for at most `MAX_SEND_LEAD_NS`: the last stretch before a
 * scheduled write, too short for a timer and too late to yield (undici writes when this returns).
 */
export function spinUntil(nowNs: () => number, atNs: number): void {
  const limitNs = nowNs() + MAX_SEND_LEAD_NS
  const untilNs = Math.min(atNs, limitNs)
  while (nowNs() < untilNs) {
    // spin
  }
}
