import type { Clock } from '../../core/ports.js'

/** One reading of the mock's power trace, as `GET /tokenwatt/power` serves it. */
export interface MockPowerReading {
  /** Wall-clock time of the reading (Unix ms). */
  readonly timeMs: number
  readonly powerW: number
  /** Cumulative energy since the server started (a counter, like NVML's total energy). */
  readonly energyJ: number
  /** Requests in flight. */
  readonly streams: number
}

/**
 * A synthetic accelerator: power is `idleW + perStreamW × requests in flight`, capped at `maxW`, and
 * changes only when a request starts or ends, so the energy counter is the exact integral of that step
 * function. Power meter adapters can be tested end to end against it with a known answer.
 */
export class PowerTrace {
  private streams = 0
  private energyJ = 0
  private lastNs: number

  constructor(
    private readonly clock: Clock,
    private readonly idleW: number,
    private readonly perStreamW: number,
    private readonly maxW: number,
    /** A device model's power at a number of streams, replacing the step model (simulated-device.ts). */
    private readonly powerOf: ((streams: number) => number) | null = null,
  ) {
    this.lastNs = clock.nowNs()
  }

  /** Power at a given number of streams. */
  powerAt(streams: number): number {
    if (this.powerOf) return this.powerOf(streams)
    return Math.min(this.maxW, this.idleW + this.perStreamW * streams)
  }

  streamStarted(): void {
    this.advance()
    this.streams += 1
  }

  streamEnded(): void {
    this.advance()
    this.streams = Math.max(0, this.streams - 1)
  }

  read(): MockPowerReading {
    this.advance()
    return { timeMs: this.clock.wallMs(), powerW: this.powerAt(this.streams), energyJ: this.energyJ, streams: this.streams }
  }

  private advance(): void {
    const now = this.clock.nowNs()
    this.energyJ += (this.powerAt(this.streams) * (now - this.lastNs)) / 1e9
    this.lastNs = now
  }
}
