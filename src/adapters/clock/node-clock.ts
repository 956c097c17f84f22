import { performance } from 'node:perf_hooks'
import type { Clock } from '../../core/ports.js'
import { subscribeAbort } from '../signal/abort-fanout.js'

/** Below this much time left, `sleepUntil` stops trusting timers and spins on `setImmediate`. */
const SPIN_NS = 1_000_000

/**
 * The process clock behind the {@link Clock} port: monotonic nanoseconds from `process.hrtime.bigint()`
 * relative to the moment this clock was made (the run epoch), so every timestamp of a run is a plain
 * `number` that stays exact for about 104 days.
 *
 * `wallMs()` is the wall-clock time of the epoch plus the monotonic time since, so wall and monotonic
 * readings of one clock convert into each other exactly (a remote meter's timestamp maps onto the run's
 * timeline without the jitter of reading `Date.now()` separately each time).
 *
 * @example
 * const clock = new NodeClock()
 * const sentAtNs = clock.nowNs()
 * await clock.sleepUntil(sentAtNs + 5_000_000) // 5 ms later, absolute
 */
export class NodeClock implements Clock {
  /** `process.hrtime.bigint()` at the epoch. */
  readonly epochHr: bigint
  /** Wall-clock milliseconds (Unix epoch, sub-millisecond) at this clock's epoch. */
  readonly epochWallMs: number

  /**
   * A new epoch now, or another clock's (`{ epochHr, epochWallMs }`): a worker thread of the same
   * process reads the same CLOCK_MONOTONIC, so a copy of the run's epoch gives timestamps on the run's
   * timeline exactly.
   */
  constructor(epoch?: { readonly epochHr: bigint; readonly epochWallMs: number }) {
    this.epochWallMs = epoch?.epochWallMs ?? performance.timeOrigin + performance.now()
    this.epochHr = epoch?.epochHr ?? process.hrtime.bigint()
  }

  nowNs(): number {
    return Number(process.hrtime.bigint() - this.epochHr)
  }

  wallMs(): number {
    return this.epochWallMs + this.nowNs() / 1e6
  }

  /** Converts a wall-clock time (Unix ms) into this clock's nanoseconds; handy for remote timestamps. */
  wallMsToNs(wallMs: number): number {
    return (wallMs - this.epochWallMs) * 1e6
  }

  /** A `setImmediate` turn (a microsecond's `sleepUntil` may be over before it starts, yielding nothing). */
  nextTurn(): Promise<void> {
    return new Promise<void>((resolve) => setImmediate(resolve))
  }

  /**
   * Resolves at or just after the absolute time `atNs`: a timer sleeps until about 1 ms before, then
   * `setImmediate` turns (which let I/O run) close the gap, so the error is tens of microseconds rather
   * than the millisecond granularity of timers. Resolves early, never rejects, when `signal` aborts.
   */
  sleepUntil(atNs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true || this.nowNs() >= atNs) return Promise.resolve()
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined
      let immediate: NodeJS.Immediate | undefined
      let unsubscribe: () => void = () => undefined
      const finish = (): void => {
        if (timer !== undefined) clearTimeout(timer)
        if (immediate !== undefined) clearImmediate(immediate)
        unsubscribe()
        resolve()
      }
      const step = (): void => {
        timer = undefined
        immediate = undefined
        const leftNs = atNs - this.nowNs()
        if (leftNs <= 0) return finish()
        if (leftNs > SPIN_NS) timer = setTimeout(step, Math.floor((leftNs - SPIN_NS) / 1e6))
        else immediate = setImmediate(step)
      }
      if (signal !== undefined) unsubscribe = subscribeAbort(signal, finish)
      step()
    })
  }
}
