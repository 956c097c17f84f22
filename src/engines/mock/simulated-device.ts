import { DEVICE_STATE_ENV } from '../../core/sweep/device-state-format.js'
import { atPowerCap, itlMs, powerW, relativeClock, tdpW, minCapW, type DeviceParams } from './device-model.js'
import { readDeviceControlsFile, readDeviceStateFile, updateDeviceStateFile } from './device-state.js'

const REFRESH_MS = 100

/**
 * The mock's simulated accelerator: obeys the cap and locked clock written in the device state file
 * (by a knob or the NVML stub) and writes back its power, energy counter and time throttled at the
 * cap, refreshed every 100 ms. Without a state file it runs at its default (TDP) limit.
 */
export class SimulatedDevice {
  private capW: number
  private lockedMHz = 0
  private throttleNs = 0
  private lastTickMs: number
  private readonly timer: NodeJS.Timeout | null

  constructor(
    readonly params: DeviceParams,
    readonly statePath: string | null,
    private readonly streams: () => number,
    private readonly energyJ: () => number,
  ) {
    this.capW = tdpW(params)
    this.lastTickMs = Date.now()
    if (statePath) {
      const found = readDeviceStateFile(statePath)
      const mw = (w: number): number => Math.round(w * 1000)
      updateDeviceStateFile(statePath, {
        power_limit_mw: found.power_limit_mw ?? mw(tdpW(params)),
        power_limit_default_mw: found.power_limit_default_mw ?? mw(tdpW(params)),
        power_limit_min_mw: found.power_limit_min_mw ?? mw(Math.ceil(minCapW(params))),
        power_limit_max_mw: found.power_limit_max_mw ?? mw(tdpW(params)),
        locked_sm_clock_mhz: found.locked_sm_clock_mhz ?? 0,
        sm_clock_max_mhz: found.sm_clock_max_mhz ?? params.smClockMaxMHz,
        throttle_power_ns: found.throttle_power_ns ?? 0,
      })
      this.throttleNs = found.throttle_power_ns ?? 0
      this.readState()
      this.timer = setInterval(() => this.tick(), REFRESH_MS)
      this.timer.unref()
    } else {
      this.timer = null
    }
  }

  /** The state file named by the mock config, else by TOKENWATT_SIM_DEVICE_STATE, else none. */
  static statePathFrom(configured: string | undefined): string | null {
    return configured ?? process.env[DEVICE_STATE_ENV] ?? null
  }

  get relativeClock(): number {
    return relativeClock(this.params, this.capW, this.lockedMHz)
  }

  /** Time between tokens for a stream admitted now, with `batch` streams in flight. */
  itlMs(batch: number): number {
    return itlMs(this.params, batch, this.relativeClock)
  }

  powerW(batch: number): number {
    return powerW(this.params, batch, this.relativeClock, this.capW)
  }

  close(): void {
    if (this.timer) clearInterval(this.timer)
    this.tick()
  }

  private readState(): void {
    if (!this.statePath) return
    const s = readDeviceControlsFile(this.statePath)
    if (s.power_limit_mw !== undefined && s.power_limit_mw > 0) this.capW = s.power_limit_mw / 1000
    this.lockedMHz = s.locked_sm_clock_mhz ?? 0
  }

  private tick(): void {
    if (!this.statePath) return
    const now = Date.now()
    const streams = this.streams()
    if (atPowerCap(this.params, streams, this.capW)) this.throttleNs += (now - this.lastTickMs) * 1e6
    this.lastTickMs = now
    // Energy is integrated at the old cap up to now, then the new cap is read.
    const energyJ = this.energyJ()
    try {
      updateDeviceStateFile(this.statePath, { power_mw: this.powerW(streams) * 1000, energy_mj: energyJ * 1000, throttle_power_ns: this.throttleNs })
    } catch {
      // The state file's folder went away (a test tearing down): keep serving.
    }
    this.readState()
  }
}
