import { createRequire } from 'node:module'
import type { LibraryHandle } from 'koffi'

/**
 * A thin, typed binding of the NVML calls the meter uses (nvml.h, NVML API 13; research §1). Real
 * exported symbols are bound (`nvmlInit_v2`, not the `nvmlInit` macro). Out-parameters are Buffers
 * decoded by hand, which works the same for synchronous calls and for koffi's asynchronous calls (run
 * on a worker thread, so a slow driver call never blocks the event loop the load client runs on).
 */

/** nvmlReturn_t values worth naming (nvml.h). */
export const NVML = {
  SUCCESS: 0,
  UNINITIALIZED: 1,
  INVALID_ARGUMENT: 2,
  NOT_SUPPORTED: 3,
  NO_PERMISSION: 4,
  NOT_FOUND: 6,
  DRIVER_NOT_LOADED: 9,
  TIMEOUT: 10,
  LIBRARY_NOT_FOUND: 12,
  FUNCTION_NOT_FOUND: 13,
  GPU_IS_LOST: 15,
  LIB_RM_VERSION_MISMATCH: 18,
  NO_DATA: 21,
  VERSION_MISMATCH: 25,
  UNKNOWN: 999,
} as const

/** Field ids (nvml.h `NVML_FI_DEV_*`). */
export const NVML_FI = {
  TOTAL_ENERGY_CONSUMPTION: 83,
  POWER_AVERAGE: 185,
  POWER_INSTANT: 186,
  POWER_CURRENT_LIMIT: 190,
  ENERGY: 191,
} as const

/** The control calls bound for the knobs (each optional: older drivers lack some). */
export type ControlFn =
  | 'managementLimit'
  | 'limitConstraints'
  | 'defaultLimit'
  | 'setLimit'
  | 'setLockedClocks'
  | 'resetLockedClocks'
  | 'clockInfo'
  | 'maxClockInfo'
  | 'eventReasons'
  | 'violationStatus'
  | 'profilesCurrent'
  | 'profilesSet'
  | 'profilesClear'

/** nvmlClocksEventReason* bits (nvml.h): the ones that mean "held back for power". */
export const NVML_CLOCK_EVENT = {
  GPU_IDLE: 0x1n,
  SW_POWER_CAP: 0x4n,
  HW_SLOWDOWN: 0x8n,
  HW_POWER_BRAKE: 0x80n,
} as const

/** nvmlClockType_t */
export const NVML_CLOCK = { GRAPHICS: 0, SM: 1, MEM: 2 } as const

/** nvmlPerfPolicyType_t NVML_PERF_POLICY_POWER */
const NVML_PERF_POLICY_POWER = 0

/** nvmlMask255_t: unsigned int mask[8]. */
const MASK255_BYTES = 32

/** NVML_STRUCT_VERSION(name, ver): sizeof(struct) | ver << 24. */
function structVersion(size: number, ver: number): number {
  return (size | (ver << 24)) >>> 0
}

function maskBits(b: Buffer, offset: number): number[] {
  const out: number[] = []
  for (let w = 0; w < 8; w++) {
    const word = b.readUInt32LE(offset + 4 * w)
    for (let bit = 0; bit < 32; bit++) if ((word >>> bit) & 1) out.push(w * 32 + bit)
  }
  return out
}

/** sizeof(nvmlFieldValue_t) on x86-64 and aarch64 (verified with koffi.sizeof). */
const FIELD_VALUE_SIZE = 40

export interface FieldValue {
  readonly fieldId: number
  readonly ret: number
  /** µs since 1970 (CPU time the driver took the value). */
  readonly timestampUs: number
  /** The value as a number (unsigned/signed/double, by its valueType); null when ret ≠ SUCCESS. */
  readonly value: number | null
}

export interface NvmlDevice {
  readonly handle: unknown
  readonly index: number
}

type Koffi = typeof import('koffi')
let koffiModule: Koffi | null = null
/**
 * koffi is loaded on first use, not at import: every command imports this file through the meter
 * registry, and a host whose koffi native module is missing must still run everything but NVML.
 */
function koffi(): Koffi {
  koffiModule ??= createRequire(import.meta.url)('koffi') as Koffi
  return koffiModule
}

let typesDeclared = false
/** koffi type names are process-global: declare the opaque handle type once. */
function declareTypes(): void {
  if (typesDeclared) return
  const k = koffi()
  k.pointer('nvmlDevice_t', k.opaque('nvmlDevice_st'))
  typesDeclared = true
}

type Fn = ((...args: unknown[]) => number) & { async: (...args: unknown[]) => void }

/** An opened NVML library. Construct with {@link openNvml}; throws when the library cannot be loaded. */
export class NvmlLibrary {
  private readonly fn: {
    init: Fn
    shutdown: Fn
    errorString: (r: number) => string
    count: Fn
    handleByIndex: Fn
    name: Fn
    uuid: Fn
    energy: Fn
    power: Fn
    enforcedLimit: Fn
    fieldValues: Fn | null
  }
  /** Control and clock-state calls (the knobs); null where this driver lacks the symbol. */
  private readonly ctl: Record<ControlFn, Fn | null>

  constructor(private readonly lib: LibraryHandle) {
    declareTypes()
    const f = (proto: string): Fn => lib.func(proto) as Fn
    let fieldValues: Fn | null
    try {
      fieldValues = f('int nvmlDeviceGetFieldValues(nvmlDevice_t device, int valuesCount, void *values)')
    } catch {
      fieldValues = null // drivers before field values: power falls back to nvmlDeviceGetPowerUsage
    }
    this.fn = {
      init: f('int nvmlInit_v2()'),
      shutdown: f('int nvmlShutdown()'),
      errorString: lib.func('const char *nvmlErrorString(int result)') as (r: number) => string,
      count: f('int nvmlDeviceGetCount_v2(void *deviceCount)'),
      handleByIndex: f('int nvmlDeviceGetHandleByIndex_v2(unsigned int index, _Out_ nvmlDevice_t *device)'),
      name: f('int nvmlDeviceGetName(nvmlDevice_t device, void *name, unsigned int length)'),
      uuid: f('int nvmlDeviceGetUUID(nvmlDevice_t device, void *uuid, unsigned int length)'),
      energy: f('int nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, void *energy)'),
      power: f('int nvmlDeviceGetPowerUsage(nvmlDevice_t device, void *power)'),
      enforcedLimit: f('int nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, void *limit)'),
      fieldValues,
    }
    const optional = (proto: string): Fn | null => {
      try {
        return f(proto)
      } catch {
        return null
      }
    }
    this.ctl = {
      managementLimit: optional('int nvmlDeviceGetPowerManagementLimit(nvmlDevice_t device, void *limit)'),
      limitConstraints: optional('int nvmlDeviceGetPowerManagementLimitConstraints(nvmlDevice_t device, void *minLimit, void *maxLimit)'),
      defaultLimit: optional('int nvmlDeviceGetPowerManagementDefaultLimit(nvmlDevice_t device, void *defaultLimit)'),
      setLimit: optional('int nvmlDeviceSetPowerManagementLimit(nvmlDevice_t device, unsigned int limit)'),
      setLockedClocks: optional('int nvmlDeviceSetGpuLockedClocks(nvmlDevice_t device, unsigned int minGpuClockMHz, unsigned int maxGpuClockMHz)'),
      resetLockedClocks: optional('int nvmlDeviceResetGpuLockedClocks(nvmlDevice_t device)'),
      clockInfo: optional('int nvmlDeviceGetClockInfo(nvmlDevice_t device, int type, void *clock)'),
      maxClockInfo: optional('int nvmlDeviceGetMaxClockInfo(nvmlDevice_t device, int type, void *clock)'),
      // renamed in R535 (ThrottleReasons is kept as a deprecated alias): bind the new name first
      eventReasons: optional('int nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t device, void *reasons)') ?? optional('int nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t device, void *reasons)'),
      violationStatus: optional('int nvmlDeviceGetViolationStatus(nvmlDevice_t device, int perfPolicyType, void *violTime)'),
      profilesCurrent: optional('int nvmlDeviceWorkloadPowerProfileGetCurrentProfiles(nvmlDevice_t device, void *currentProfiles)'),
      profilesSet: optional('int nvmlDeviceWorkloadPowerProfileSetRequestedProfiles(nvmlDevice_t device, void *requestedProfiles)'),
      profilesClear: optional('int nvmlDeviceWorkloadPowerProfileClearRequestedProfiles(nvmlDevice_t device, void *requestedProfiles)'),
    }
  }

  /** Whether the loaded library exports the control call (older drivers lack some). */
  has(fn: ControlFn): boolean {
    return this.ctl[fn] !== null
  }

  private u32(fn: ControlFn, d: NvmlDevice, ...args: unknown[]): { ret: number; value: number } {
    const call = this.ctl[fn]
    if (!call) return { ret: NVML.FUNCTION_NOT_FOUND, value: 0 }
    const b = Buffer.alloc(4)
    const ret = call(d.handle, ...args, b)
    return { ret, value: b.readUInt32LE(0) }
  }

  /** The power management limit (mW) the user set, before other limits are applied. */
  managementLimitMw(d: NvmlDevice): { ret: number; value: number } {
    return this.u32('managementLimit', d)
  }

  defaultLimitMw(d: NvmlDevice): { ret: number; value: number } {
    return this.u32('defaultLimit', d)
  }

  limitConstraintsMw(d: NvmlDevice): { ret: number; minMw: number; maxMw: number } {
    const call = this.ctl.limitConstraints
    if (!call) return { ret: NVML.FUNCTION_NOT_FOUND, minMw: 0, maxMw: 0 }
    const lo = Buffer.alloc(4)
    const hi = Buffer.alloc(4)
    const ret = call(d.handle, lo, hi)
    return { ret, minMw: lo.readUInt32LE(0), maxMw: hi.readUInt32LE(0) }
  }

  /** nvmlDeviceSetPowerManagementLimit (root; the driver rejects values outside the constraints). */
  setManagementLimitMw(d: NvmlDevice, mw: number): number {
    return this.ctl.setLimit ? this.ctl.setLimit(d.handle, Math.round(mw)) : NVML.FUNCTION_NOT_FOUND
  }

  setLockedClocksMhz(d: NvmlDevice, minMhz: number, maxMhz: number): number {
    return this.ctl.setLockedClocks ? this.ctl.setLockedClocks(d.handle, Math.round(minMhz), Math.round(maxMhz)) : NVML.FUNCTION_NOT_FOUND
  }

  resetLockedClocks(d: NvmlDevice): number {
    return this.ctl.resetLockedClocks ? this.ctl.resetLockedClocks(d.handle) : NVML.FUNCTION_NOT_FOUND
  }

  /** Current clock (MHz) of `type` (nvmlClockType_t: 0 graphics, 1 SM, 2 memory). */
  clockMhz(d: NvmlDevice, type: number): { ret: number; value: number } {
    return this.u32('clockInfo', d, type)
  }

  maxClockMhz(d: NvmlDevice, type: number): { ret: number; value: number } {
    return this.u32('maxClockInfo', d, type)
  }

  /** The clocks event (throttle) reason bit mask now (`nvmlClocksEventReason*`). */
  clocksEventReasons(d: NvmlDevice): { ret: number; mask: bigint } {
    const call = this.ctl.eventReasons
    if (!call) return { ret: NVML.FUNCTION_NOT_FOUND, mask: 0n }
    const b = Buffer.alloc(8)
    const ret = call(d.handle, b)
    return { ret, mask: b.readBigUInt64LE(0) }
  }

  /** Cumulative ns the GPU was held back by the power policy (nvmlViolationTime_t.violationTime). */
  powerViolationNs(d: NvmlDevice): { ret: number; ns: number } {
    const call = this.ctl.violationStatus
    if (!call) return { ret: NVML.FUNCTION_NOT_FOUND, ns: 0 }
    const b = Buffer.alloc(16) // { u64 referenceTime; u64 violationTime }
    const ret = call(d.handle, NVML_PERF_POLICY_POWER, b)
    return { ret, ns: Number(b.readBigUInt64LE(8)) }
  }

  /** Requested and enforced workload power profile masks (bits = nvmlPowerProfileType_t ids). */
  powerProfiles(d: NvmlDevice): { ret: number; requested: number[]; enforced: number[] } {
    const call = this.ctl.profilesCurrent
    if (!call) return { ret: NVML.FUNCTION_NOT_FOUND, requested: [], enforced: [] }
    // nvmlWorkloadPowerProfileCurrentProfiles_v1_t: version, then perf/requested/enforced nvmlMask255_t (8 × u32 each)
    const b = Buffer.alloc(4 + 3 * MASK255_BYTES)
    b.writeUInt32LE(structVersion(b.length, 1), 0)
    const ret = call(d.handle, b)
    return { ret, requested: maskBits(b, 4 + MASK255_BYTES), enforced: maskBits(b, 4 + 2 * MASK255_BYTES) }
  }

  /** Requests (set) or withdraws (clear) the given profile ids. */
  requestPowerProfiles(d: NvmlDevice, ids: readonly number[], op: 'set' | 'clear'): number {
    const call = op === 'set' ? this.ctl.profilesSet : this.ctl.profilesClear
    if (!call) return NVML.FUNCTION_NOT_FOUND
    // nvmlWorkloadPowerProfileRequestedProfiles_v1_t: version, requestedProfilesMask
    const b = Buffer.alloc(4 + MASK255_BYTES)
    b.writeUInt32LE(structVersion(b.length, 1), 0)
    for (const id of ids) b.writeUInt32LE((b.readUInt32LE(4 + 4 * (id >> 5)) | (1 << (id & 31))) >>> 0, 4 + 4 * (id >> 5))
    return call(d.handle, b)
  }

  errorString(ret: number): string {
    try {
      return `${this.fn.errorString(ret)} (${ret})`
    } catch {
      return `NVML error ${ret}`
    }
  }

  init(): number {
    return this.fn.init()
  }

  shutdown(): number {
    return this.fn.shutdown()
  }

  deviceCount(): { ret: number; count: number } {
    const b = Buffer.alloc(4)
    const ret = this.fn.count(b)
    return { ret, count: b.readUInt32LE(0) }
  }

  device(index: number): { ret: number; device: NvmlDevice | null } {
    const out: unknown[] = [null]
    const ret = this.fn.handleByIndex(index, out)
    return { ret, device: ret === NVML.SUCCESS ? { handle: out[0], index } : null }
  }

  private text(fn: Fn, d: NvmlDevice): { ret: number; text: string } {
    const b = Buffer.alloc(96)
    const ret = fn(d.handle, b, 96)
    const end = b.indexOf(0)
    return { ret, text: b.toString('utf8', 0, end < 0 ? 96 : end) }
  }

  name(d: NvmlDevice): { ret: number; text: string } {
    return this.text(this.fn.name, d)
  }

  uuid(d: NvmlDevice): { ret: number; text: string } {
    return this.text(this.fn.uuid, d)
  }

  enforcedLimitMw(d: NvmlDevice): { ret: number; mw: number } {
    const b = Buffer.alloc(4)
    const ret = this.fn.enforcedLimit(d.handle, b)
    return { ret, mw: b.readUInt32LE(0) }
  }

  /** Total energy since the driver loaded (mJ, u64 → number: exact below 2^53 mJ ≈ 285 years at 1 kW). */
  energyMj(d: NvmlDevice): { ret: number; mj: number } {
    const b = Buffer.alloc(8)
    const ret = this.fn.energy(d.handle, b)
    return { ret, mj: Number(b.readBigUInt64LE(0)) }
  }

  energyMjAsync(d: NvmlDevice): Promise<{ ret: number; mj: number }> {
    const b = Buffer.alloc(8)
    return callAsync(this.fn.energy, [d.handle, b]).then((ret) => ({ ret, mj: Number(b.readBigUInt64LE(0)) }))
  }

  powerMw(d: NvmlDevice): { ret: number; mw: number } {
    const b = Buffer.alloc(4)
    const ret = this.fn.power(d.handle, b)
    return { ret, mw: b.readUInt32LE(0) }
  }

  powerMwAsync(d: NvmlDevice): Promise<{ ret: number; mw: number }> {
    const b = Buffer.alloc(4)
    return callAsync(this.fn.power, [d.handle, b]).then((ret) => ({ ret, mw: b.readUInt32LE(0) }))
  }

  get hasFieldValues(): boolean {
    return this.fn.fieldValues !== null
  }

  private fieldBuffer(fields: readonly { id: number; scope: number }[]): Buffer {
    const b = Buffer.alloc(FIELD_VALUE_SIZE * fields.length)
    fields.forEach((f, i) => {
      b.writeUInt32LE(f.id, i * FIELD_VALUE_SIZE)
      b.writeUInt32LE(f.scope, i * FIELD_VALUE_SIZE + 4)
    })
    return b
  }

  fieldValues(d: NvmlDevice, fields: readonly { id: number; scope: number }[]): { ret: number; values: FieldValue[] } {
    if (!this.fn.fieldValues) return { ret: NVML.FUNCTION_NOT_FOUND, values: [] }
    const b = this.fieldBuffer(fields)
    const ret = this.fn.fieldValues(d.handle, fields.length, b)
    return { ret, values: decodeFieldValues(b, fields.length) }
  }

  fieldValuesAsync(d: NvmlDevice, fields: readonly { id: number; scope: number }[]): Promise<{ ret: number; values: FieldValue[] }> {
    if (!this.fn.fieldValues) return Promise.resolve({ ret: NVML.FUNCTION_NOT_FOUND, values: [] })
    const b = this.fieldBuffer(fields)
    return callAsync(this.fn.fieldValues, [d.handle, fields.length, b]).then((ret) => ({ ret, values: decodeFieldValues(b, fields.length) }))
  }

  unload(): void {
    this.lib.unload()
  }
}

function callAsync(fn: Fn, args: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err: unknown, ret: number) => (err ? reject(err instanceof Error ? err : new Error('NVML async call failed')) : resolve(ret)))
  })
}

/** Decodes `n` nvmlFieldValue_t entries: valueType at +24, nvmlReturn at +28, the union at +32. */
export function decodeFieldValues(b: Buffer, n: number): FieldValue[] {
  const out: FieldValue[] = []
  for (let i = 0; i < n; i++) {
    const o = i * FIELD_VALUE_SIZE
    const ret = b.readInt32LE(o + 28)
    const type = b.readInt32LE(o + 24)
    let value: number | null = null
    if (ret === NVML.SUCCESS) {
      switch (type) {
        case 0:
          value = b.readDoubleLE(o + 32)
          break
        case 1:
          value = b.readUInt32LE(o + 32)
          break
        case 2:
        case 3:
          value = Number(b.readBigUInt64LE(o + 32))
          break
        case 4:
          value = Number(b.readBigInt64LE(o + 32))
          break
        case 5:
          value = b.readInt32LE(o + 32)
          break
        case 6:
          value = b.readUInt16LE(o + 32)
          break
        default:
          value = null
      }
    }
    out.push({ fieldId: b.readUInt32LE(o), ret, timestampUs: Number(b.readBigInt64LE(o + 8)), value })
  }
  return out
}

/** Loads NVML from `path`; throws the loader's error when it cannot. */
export function openNvml(path: string): NvmlLibrary {
  return new NvmlLibrary(koffi().load(path))
}
