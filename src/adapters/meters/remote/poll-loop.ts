import type { Clock } from '../../../core/ports.js'

/**
 * Polls a remote meter on an absolute schedule (`start + k·period`, never `sleep(period)`, so the
 * rate does not drift with request latency). A poll is never overlapped by the next one: a slow
 * device makes the loop skip the slots it missed, and they are counted, so the gap shows up as lower
 * coverage instead of a pile-up of requests against a BMC that is already struggling.
 *
 * Plain timers are enough here (a meter read is not latency-critical); they also keep the loop's own
 * cost near zero between polls.
 */
export class PollLoop {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private stopped = true
  private startNs = 0
  private slot = 0
  /** Schedule slots skipped because the previous poll was still running. */
  skippedSlots = 0
  /** Polls run so far (the final one at stop included). */
  polls = 0

  constructor(
    private readonly clock: Clock,
    private readonly periodMs: number,
    private readonly poll: () => Promise<void>,
  ) {}

  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.startNs = this.clock.nowNs()
    this.slot = 0
    this.fire()
  }

  /** Cancels the schedule, waits for a poll in flight, then polls once more to cover the end. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    await this.running
    await this.run()
  }

  private fire(): void {
    this.timer = undefined
    if (this.stopped) return
    this.running = this.run().then(() => this.scheduleNext())
  }

  private run(): Promise<void> {
    this.polls++
    // A poll reports its own failures as data; anything that still escapes must not kill the loop.
    return this.poll().catch(() => undefined)
  }

  private scheduleNext(): void {
    if (this.stopped) return
    const periodNs = this.periodMs * 1e6
    const nowNs = this.clock.nowNs()
    let next = this.slot + 1
    const due = Math.floor((nowNs - this.startNs) / periodNs) + 1
    if (due > next) {
      this.skippedSlots += due - next
      next = due
    }
    this.slot = next
    const waitMs = Math.max(0, (this.startNs + next * periodNs - nowNs) / 1e6)
    // Unref'd: a meter never keeps the process alive on its own.
    this.timer = setTimeout(() => this.fire(), waitMs)
    this.timer.unref()
  }
}
