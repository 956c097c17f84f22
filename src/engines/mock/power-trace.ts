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
  /** Of which in prefill (first token not yet sent) and in decode. */
  readonly prefillStreams: number
  readonly decodeStreams: number
  /**
   * Ground truth of the energy by phase above idle (J since start): each request's per-stream and
   * phase watts while it is in that phase (scaled down with the rest when the cap binds).
   */
  readonly prefillEnergyJ: number
  readonly decodeEnergyJ: number
}

/** Phase watts of the step model: added per request in prefill and per request in decode. */
export interface PhasePower {
  readonly prefillW: number
  readonly decodeW: number
}

/**
 * A synthetic accelerator: power is `idleW + perStreamW × requests in flight + prefillW × requests in
 * prefill + decodeW × requests in decode`, capped at `maxW`, and changes only when a request starts,
 * sends its first token or ends, so the energy counter is the exact integral of that step function,
 * and the energy of each phase above idle is known exactly (ground truth for phase attribution).
 * Power meter adapters can be tested end to end against it with a known answer.
 */
export class PowerTrace {
  private prefill = 0
  private decode = 0
  private energyJ = 0
  private prefillEnergyJ = 0
  private decodeEnergyJ = 0
  private lastNs: number

  constructor(
    private readonly clock: Clock,
    private readonly idleW: number,
    private readonly perStreamW: number,
    private readonly maxW: number,
    /** A device model's power at a number of streams, replacing the step model (simulated-device.ts). */
    private readonly powerOf: ((streams: number) => number) | null = null,
    private readonly phase: PhasePower = { prefillW: 0, decodeW: 0 },
  ) {
    this.lastNs = clock.nowNs()
  }

  private get streams(): number {
    return this.prefill + this.decode
  }

  /** Above-idle watts of each phase now, after the cap. */
  private dynamicW(): { prefillW: number; decodeW: number } {
    const pre = (this.perStreamW + this.phase.prefillW) * this.prefill
    const dec = (this.perStreamW + this.phase.decodeW) * this.decode
    const room = Math.max(0, this.maxW - this.idleW)
    const scale = pre + dec > room ? room / (pre + dec) : 1
    return { prefillW: pre * scale, decodeW: dec * scale }
  }

  private powerNow(): number {
    if (this.powerOf) return this.powerOf(this.streams)
    const d = this.dynamicW()
    return this.idleW + d.prefillW + d.decodeW
  }

  /** A request arrived: it is in prefill until its first token. */
  streamStarted(): void {
    this.advance()
    this.prefill += 1
  }

  /** A request sent its first token: it moves from prefill to decode. */
  firstToken(): void {
    this.advance()
    if (this.prefill > 0) {
      this.prefill -= 1
      this.decode += 1
    }
  }

  /** A request ended, in decode when it had sent a token, else still in prefill. */
  streamEnded(decoding = true): void {
    this.advance()
    if (decoding && this.decode > 0) this.decode -= 1
    else if (this.prefill > 0) this.prefill -= 1
    else this.decode = Math.max(0, this.decode - 1)
  }

  read(): MockPowerReading {
    this.advance()
    return {
      timeMs: this.clock.wallMs(),
      powerW: this.powerNow(),
      energyJ: this.energyJ,
      streams: this.streams,
      prefillStreams: this.prefill,
      decodeStreams: this.decode,
      prefillEnergyJ: this.prefillEnergyJ,
      decodeEnergyJ: this.decodeEnergyJ,
    }
  }

  private advance(): void {
    const now = this.clock.nowNs()
    const dtS = (now - this.lastNs) / 1e9
    this.energyJ += this.powerNow() * dtS
    if (!this.powerOf) {
      const d = this.dynamicW()
      this.prefillEnergyJ += d.prefillW * dtS
      this.decodeEnergyJ += d.decodeW * dtS
    }
    this.lastNs = now
  }
}
