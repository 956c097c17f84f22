import { KnobError } from '../../core/errors.js'
import type { KnobInfo, PowerThrottleReading } from '../../core/ports.js'
import { NVML, NVML_CLOCK, NVML_CLOCK_EVENT, openNvml, type NvmlDevice, type NvmlLibrary } from '../meters/nvml/nvml-library.js'
import type { KnobBackend } from './knob-backend.js'

export const DEFAULT_NVML_LIBRARY = 'libnvidia-ml.so.1'

export interface NvmlKnobOptions {
  /** GPU index (NVML order). */
  readonly device: number
  /** Library path; else env TOKENWATT_NVML_LIBRARY, else libnvidia-ml.so.1 (the meter's rule). */
  readonly library?: string
}

const ROOT_HINT = 'changing GPU power limits and clocks needs root: run tokenwatt with sudo (or as a user the driver allows), or sweep only load and server knobs'

/** One opened NVML device, shared by the NVML knobs of that GPU. */
class NvmlHandle {
  readonly lib: NvmlLibrary
  readonly dev: NvmlDevice
  constructor(readonly path: string, index: number) {
    let lib: NvmlLibrary
    try {
      lib = openNvml(path)
    } catch (e) {
      throw new KnobError(`NVML: cannot load ${path} (${(e as Error).message.split('\n')[0]})`, { hint: path === DEFAULT_NVML_LIBRARY ? 'no NVIDIA driver here? set TOKENWATT_NVML_LIBRARY to the library, or use `via: nvidia-smi`' : 'check TOKENWATT_NVML_LIBRARY / the knob\'s library' })
    }
    const init = lib.init()
    if (init !== NVML.SUCCESS) throw new KnobError(`NVML: nvmlInit failed: ${lib.errorString(init)}`, { hint: 'is the NVIDIA driver loaded? (`nvidia-smi` should work)' })
    const { ret, device } = lib.device(index)
    if (ret !== NVML.SUCCESS || !device) {
      lib.shutdown()
      throw new KnobError(`NVML: no GPU ${index}: ${lib.errorString(ret)}`, { hint: `\`nvidia-smi -L\` lists the GPUs; indices start at 0` })
    }
    this.lib = lib
    this.dev = device
  }

  check(ret: number, what: string, knob: string): void {
    if (ret === NVML.SUCCESS) return
    if (ret === NVML.NO_PERMISSION) throw new KnobError(`${knob}: ${what} on GPU ${this.dev.index} was refused: ${this.lib.errorString(ret)}`, { hint: ROOT_HINT })
    if (ret === NVML.NOT_SUPPORTED || ret === NVML.FUNCTION_NOT_FOUND) throw new KnobError(`${knob}: ${what} is not supported on GPU ${this.dev.index}: ${this.lib.errorString(ret)}`, { hint: 'this GPU or driver does not offer the knob; drop it from the sweep' })
    throw new KnobError(`${knob}: ${what} on GPU ${this.dev.index} failed: ${this.lib.errorString(ret)}`)
  }

  throttle(): PowerThrottleReading {
    const v = this.lib.powerViolationNs(this.dev)
    const r = this.lib.clocksEventReasons(this.dev)
    return {
      throttledForPowerNs: v.ret === NVML.SUCCESS ? v.ns : null,
      powerCapActive: r.ret === NVML.SUCCESS && (r.mask & NVML_CLOCK_EVENT.SW_POWER_CAP) !== 0n,
      powerBrakeActive: r.ret === NVML.SUCCESS && (r.mask & NVML_CLOCK_EVENT.HW_POWER_BRAKE) !== 0n,
    }
  }

  close(): void {
    this.lib.shutdown()
  }
}

export function nvmlLibraryPath(options: NvmlKnobOptions, env: Readonly<Record<string, string | undefined>>): string {
  return options.library ?? env.TOKENWATT_NVML_LIBRARY ?? DEFAULT_NVML_LIBRARY
}

/** `gpu.power-limit-w` through nvmlDeviceSetPowerManagementLimit; the enforced limit is read back. */
export class NvmlPowerLimitBackend implements KnobBackend {
  readonly id: string
  readonly info: KnobInfo
  private readonly h: NvmlHandle

  readonly options: Readonly<Record<string, unknown>>

  constructor(opts: NvmlKnobOptions, path: string) {
    this.options = { via: 'nvml', ...opts }
    this.h = new NvmlHandle(path, opts.device)
    this.id = `gpu.power-limit-w@nvml:${opts.device}`
    const c = this.h.lib.limitConstraintsMw(this.h.dev)
    this.info = {
      name: 'gpu.power-limit-w',
      unit: 'W',
      persistent: true,
      ...(c.ret === NVML.SUCCESS ? { minValue: c.minMw / 1000, maxValue: c.maxMw / 1000 } : {}),
      description: `power limit of GPU ${opts.device} (NVML)`,
    }
  }

  preflight(): void {
    if (!this.h.lib.has('setLimit')) this.h.check(NVML.FUNCTION_NOT_FOUND, 'setting the power limit', this.info.name)
    const now = this.h.lib.managementLimitMw(this.h.dev)
    this.h.check(now.ret, 'reading the power limit', this.info.name)
    // Writing the value in force changes nothing and answers NO_PERMISSION when we may not write.
    this.h.check(this.h.lib.setManagementLimitMw(this.h.dev, now.value), 'setting the power limit', this.info.name)
  }

  read(): number {
    const r = this.h.lib.managementLimitMw(this.h.dev)
    this.h.check(r.ret, 'reading the power limit', this.info.name)
    return r.value / 1000
  }

  write(valueW: number): void {
    this.h.check(this.h.lib.setManagementLimitMw(this.h.dev, valueW * 1000), `setting the power limit to ${valueW} W`, this.info.name)
  }

  readEnforced(): number {
    const r = this.h.lib.enforcedLimitMw(this.h.dev)
    this.h.check(r.ret, 'reading the enforced power limit', this.info.name)
    return r.mw / 1000
  }

  readPowerThrottle(): PowerThrottleReading {
    return this.h.throttle()
  }

  close(): void {
    this.h.close()
  }
}

/**
 * `gpu.sm-clock-mhz`: pins the SM clock (nvmlDeviceSetGpuLockedClocks(v, v)); 0 means unlocked
 * (nvmlDeviceResetGpuLockedClocks). NVML has no call that reads a locked clock back, so the value
 * found before a sweep is taken as unlocked (0) and a restore resets the lock; the clock in force
 * after a write is read with nvmlDeviceGetClockInfo(SM).
 */
export class NvmlLockedClockBackend implements KnobBackend {
  readonly id: string
  readonly info: KnobInfo
  private readonly h: NvmlHandle
  private locked = 0

  readonly options: Readonly<Record<string, unknown>>

  constructor(opts: NvmlKnobOptions, path: string) {
    this.options = { via: 'nvml', ...opts }
    this.h = new NvmlHandle(path, opts.device)
    this.id = `gpu.sm-clock-mhz@nvml:${opts.device}`
    const max = this.h.lib.maxClockMhz(this.h.dev, NVML_CLOCK.SM)
    this.info = {
      name: 'gpu.sm-clock-mhz',
      unit: 'MHz',
      persistent: true,
      minValue: 0,
      ...(max.ret === NVML.SUCCESS ? { maxValue: max.value } : {}),
      description: `locked SM clock of GPU ${opts.device} (NVML; 0 = unlocked)`,
    }
  }

  preflight(): void {
    if (!this.h.lib.has('setLockedClocks') || !this.h.lib.has('resetLockedClocks')) this.h.check(NVML.FUNCTION_NOT_FOUND, 'locking clocks', this.info.name)
    // Resetting an unlocked clock is a no-op that still needs the permission to lock.
    this.h.check(this.h.lib.resetLockedClocks(this.h.dev), 'resetting locked clocks', this.info.name)
  }

  read(): number {
    return this.locked
  }

  write(mhz: number): void {
    if (mhz <= 0) this.h.check(this.h.lib.resetLockedClocks(this.h.dev), 'resetting locked clocks', this.info.name)
    else this.h.check(this.h.lib.setLockedClocksMhz(this.h.dev, mhz, mhz), `locking the SM clock at ${mhz} MHz`, this.info.name)
    this.locked = mhz <= 0 ? 0 : mhz
  }

  readEnforced(): number {
    if (this.locked === 0) return 0
    const r = this.h.lib.clockMhz(this.h.dev, NVML_CLOCK.SM)
    return r.ret === NVML.SUCCESS ? r.value : this.locked
  }

  readPowerThrottle(): PowerThrottleReading {
    return this.h.throttle()
  }

  close(): void {
    this.h.close()
  }
}

/**
 * `gpu.power-profile`: NVIDIA's workload power profiles (R570+; nvmlPowerProfileType_t ids, e.g.
 * 0 MAX_P, 1 MAX_Q); −1 means none requested. Requests exactly one profile per point.
 */
export class NvmlPowerProfileBackend implements KnobBackend {
  readonly id: string
  readonly info: KnobInfo
  private readonly h: NvmlHandle

  readonly options: Readonly<Record<string, unknown>>

  constructor(opts: NvmlKnobOptions, path: string) {
    this.options = { via: 'nvml', ...opts }
    this.h = new NvmlHandle(path, opts.device)
    this.id = `gpu.power-profile@nvml:${opts.device}`
    this.info = { name: 'gpu.power-profile', unit: 'profile', persistent: true, minValue: -1, maxValue: 254, description: `workload power profile of GPU ${opts.device} (NVML; −1 = none)` }
  }

  preflight(): void {
    for (const fn of ['profilesCurrent', 'profilesSet', 'profilesClear'] as const) {
      if (!this.h.lib.has(fn)) throw new KnobError(`gpu.power-profile: this NVIDIA driver has no workload power profiles (nvmlDeviceWorkloadPowerProfile* missing)`, { hint: 'workload power profiles need driver R570 or newer on a GPU that offers them; drop the knob' })
    }
    this.h.check(this.h.lib.powerProfiles(this.h.dev).ret, 'reading power profiles', this.info.name)
  }

  read(): number {
    const r = this.h.lib.powerProfiles(this.h.dev)
    this.h.check(r.ret, 'reading power profiles', this.info.name)
    return r.requested[0] ?? -1
  }

  write(id: number): void {
    const now = this.h.lib.powerProfiles(this.h.dev)
    this.h.check(now.ret, 'reading power profiles', this.info.name)
    if (now.requested.length > 0) this.h.check(this.h.lib.requestPowerProfiles(this.h.dev, now.requested, 'clear'), 'clearing power profiles', this.info.name)
    if (id >= 0) this.h.check(this.h.lib.requestPowerProfiles(this.h.dev, [Math.round(id)], 'set'), `requesting power profile ${id}`, this.info.name)
  }

  readEnforced(): number {
    const r = this.h.lib.powerProfiles(this.h.dev)
    this.h.check(r.ret, 'reading power profiles', this.info.name)
    return r.enforced[0] ?? -1
  }

  close(): void {
    this.h.close()
  }
}
