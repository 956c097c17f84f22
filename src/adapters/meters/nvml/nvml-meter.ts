import type { MeterSpecOf } from '../../../core/config/meters-schema.js'
import { MeterUnavailableError } from '../../../core/errors.js'
import type { MeterInfo, MeterPreflight, PowerMeter } from '../../../core/ports.js'
import type { PowerSample } from '../../../core/records.js'
import type { MeterContext } from '../meter-context.js'
import { PollLoop } from '../remote/poll-loop.js'
import { NVML, NVML_FI, type NvmlDevice, type NvmlLibrary, openNvml } from './nvml-library.js'

export const DEFAULT_NVML_LIBRARY = 'libnvidia-ml.so.1'

interface Gpu {
  readonly device: NvmlDevice
  readonly uuid: string
  readonly name: string
  hasEnergy: boolean
  /** Energy and power come back in one field-values call (half the driver calls per tick). */
  combined: boolean
  /** Stopped after GPU_IS_LOST: no more samples (the gap shows in coverage). */
  lost: boolean
}

/** How power is read, decided once at preflight. */
type PowerSource = { kind: 'field'; id: number; scope: number; averagingWindowMs: number } | { kind: 'usage'; averagingWindowMs: number }

/** nvmlDeviceGetPowerUsage is an instant reading on these (nvml.h: "GA100 and older"). */
const INSTANT_USAGE = /\b(A100|V100|T4|P100|P40|P4|K80|K40|TITAN V|Quadro GV100)\b/i

/**
 * NVIDIA GPU energy through NVML (koffi FFI on `libnvidia-ml.so.1`; env `TOKENWATT_NVML_LIBRARY` or
 * `meters[].library` names another). The total-energy counter (`nvmlDeviceGetTotalEnergyConsumption`,
 * mJ since the driver loaded; Volta+) is primary: a counter difference is exact however the samples
 * fall. Power comes from field values (`POWER_INSTANT`; scope 1 = module on Grace superchips) or
 * `nvmlDeviceGetPowerUsage` (a 1-s average on Ampere+). GPUs are keyed by UUID, not index.
 *
 * Each poll calls NVML asynchronously (koffi runs the call on a worker thread), so a driver call that
 * blocks for milliseconds never delays the load client's event loop.
 */
export class NvmlPowerMeter implements PowerMeter {
  private lib: NvmlLibrary | null = null
  private initialized = false
  private gpus: Gpu[] = []
  private power: PowerSource = { kind: 'usage', averagingWindowMs: 1000 }
  private limits: Record<string, number> = {}
  private loop: PollLoop | null = null

  constructor(
    private readonly spec: MeterSpecOf<'nvml'>,
    private readonly ctx: MeterContext,
  ) {}

  private libraryPath(): string {
    return this.spec.library ?? this.ctx.env.TOKENWATT_NVML_LIBRARY ?? DEFAULT_NVML_LIBRARY
  }

  get info(): MeterInfo {
    const n = this.gpus.length
    return {
      id: this.ctx.id,
      kind: 'nvml',
      boundary: this.spec.boundary,
      hasCounter: this.gpus.length === 0 || this.gpus.some((g) => g.hasEnergy),
      periodMs: this.spec.periodMs ?? 100,
      averagingWindowMs: this.power.averagingWindowMs,
      accuracyRel: this.spec.accuracyRel ?? 0,
      // nvidia-smi documents board power as "accurate to within +/- 5 watts"; the counter shares the sensor.
      accuracyW: this.spec.accuracyW ?? 5,
      resolutionJ: 0.001,
      resolutionW: 0.001,
      estimated: false,
      description: `NVML ${n > 0 ? `${n} GPU${n === 1 ? '' : 's'} (${this.gpus[0]?.name ?? ''})` : ''} ${this.gpus.some((g) => g.hasEnergy) ? 'energy counter' : 'power'}${this.spec.scope === 'module' ? ', module scope' : ''}`.replace(/\s+/g, ' ').trim(),
      powerLimitW: { ...this.limits },
      ...(this.spec.component !== undefined ? { component: this.spec.component } : {}),
      ...(this.spec.group !== undefined ? { group: this.spec.group } : {}),
    }
  }

  private fail(message: string, hint: string, cause?: unknown): never {
    throw new MeterUnavailableError(`NVML: ${message}`, { hint, cause })
  }

  private hintFor(ret: number): string {
    if (ret === NVML.DRIVER_NOT_LOADED) return 'the NVIDIA kernel driver is not loaded (nvidia-smi should say the same)'
    if (ret === NVML.LIB_RM_VERSION_MISMATCH) return 'the NVML library and the kernel driver differ in version: reboot after the driver update'
    if (ret === NVML.NO_PERMISSION) return 'this user may not query the GPUs (check /dev/nvidia* permissions or the container runtime)'
    if (ret === NVML.GPU_IS_LOST) return 'the GPU fell off the bus; check dmesg for Xid errors and reset it'
    return 'nvidia-smi -q shows what the driver reports'
  }

  async preflight(): Promise<MeterPreflight> {
    try {
      return await this.check()
    } catch (e) {
      // nvmlInit is reference counted: a failed preflight must not leave its init behind
      if (this.lib && this.initialized) this.lib.shutdown()
      this.initialized = false
      throw e
    }
  }

  private async check(): Promise<MeterPreflight> {
    const path = this.libraryPath()
    if (!this.lib) {
      try {
        this.lib = openNvml(path)
      } catch (e) {
        this.fail(`cannot load ${path} (${firstLine((e as Error).message)})`, path === DEFAULT_NVML_LIBRARY ? 'no NVIDIA driver on this machine? Install it, or set TOKENWATT_NVML_LIBRARY to the library path' : 'check TOKENWATT_NVML_LIBRARY / meters[].library', e)
      }
    }
    const lib = this.lib
    if (!this.initialized) {
      const r = lib.init()
      if (r !== NVML.SUCCESS) this.fail(`nvmlInit failed: ${lib.errorString(r)}`, this.hintFor(r))
      this.initialized = true
    }
    const { ret, count } = lib.deviceCount()
    if (ret !== NVML.SUCCESS) this.fail(`nvmlDeviceGetCount failed: ${lib.errorString(ret)}`, this.hintFor(ret))
    if (count === 0) this.fail('no GPUs visible', 'check CUDA_VISIBLE_DEVICES / NVIDIA_VISIBLE_DEVICES and the container runtime')
    const all: Gpu[] = []
    for (let i = 0; i < count; i++) {
      const d = lib.device(i)
      if (d.ret !== NVML.SUCCESS || d.device === null) this.fail(`cannot open GPU ${i}: ${lib.errorString(d.ret)}`, this.hintFor(d.ret))
      const uuid = lib.uuid(d.device)
      const name = lib.name(d.device)
      all.push({ device: d.device, uuid: uuid.ret === NVML.SUCCESS ? uuid.text : `gpu-${i}`, name: name.ret === NVML.SUCCESS ? name.text : 'GPU', hasEnergy: false, combined: false, lost: false })
    }
    const wanted = this.spec.devices
    const gpus = wanted && wanted.length > 0 ? wanted.map((w) => all.find((g) => String(g.device.index) === w || g.uuid === w || g.uuid === `GPU-${w}`) ?? this.fail(`no GPU "${w}"`, `GPUs here: ${all.map((g) => `${g.device.index} ${g.uuid}`).join(', ')}`)) : all
    const notes: string[] = []
    for (const g of gpus) {
      const e = this.energyRead(g)
      g.hasEnergy = e.ret === NVML.SUCCESS
      if (!g.hasEnergy) {
        if (e.ret === NVML.GPU_IS_LOST || e.ret === NVML.NO_PERMISSION) this.fail(`reading GPU ${g.uuid}: ${lib.errorString(e.ret)}`, this.hintFor(e.ret))
        notes.push(`${g.uuid}: no energy counter (${lib.errorString(e.ret)}), power integrated`)
      }
      const lim = lib.enforcedLimitMw(g.device)
      if (lim.ret === NVML.SUCCESS && lim.mw > 0) this.limits[g.uuid] = lim.mw / 1000
    }
    this.power = this.choosePowerSource(gpus)
    const src = this.power
    if (src.kind === 'field') {
      // the same counter as nvmlDeviceGetTotalEnergyConsumption (field 83; 191 at module scope)
      const energyField = this.spec.scope === 'module' ? { id: NVML_FI.ENERGY, scope: 1 } : { id: NVML_FI.TOTAL_ENERGY_CONSUMPTION, scope: 0 }
      for (const g of gpus) {
        if (!g.hasEnergy) continue
        const r = lib.fieldValues(g.device, [energyField, { id: src.id, scope: src.scope }])
        g.combined = r.ret === NVML.SUCCESS && r.values.every((v) => v.ret === NVML.SUCCESS)
      }
    }
    const first = gpus[0] as Gpu
    const p = await this.readPower(first)
    if (p === null && !gpus.some((g) => g.hasEnergy)) this.fail(`GPU ${first.uuid} reports neither energy nor power`, 'power management is not supported on this GPU (some consumer and virtual GPUs)')
    this.gpus = gpus
    return {
      ok: true,
      channels: gpus.map((g) => g.uuid),
      message: `${gpus.length} GPU${gpus.length === 1 ? '' : 's'} (${first.name}), ${gpus.every((g) => g.hasEnergy) ? 'energy counter' : 'power'} + ${this.power.kind === 'field' ? (this.power.id === NVML_FI.POWER_INSTANT ? 'instant power' : '1-s average power') : 'nvmlDeviceGetPowerUsage'}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`,
    }
  }

  private energyRead(g: Gpu): { ret: number; mj: number } {
    const lib = this.lib as NvmlLibrary
    if (this.spec.scope === 'module') {
      const r = lib.fieldValues(g.device, [{ id: NVML_FI.ENERGY, scope: 1 }])
      const v = r.values[0]
      return { ret: r.ret !== NVML.SUCCESS ? r.ret : (v?.ret ?? NVML.UNKNOWN), mj: v?.value ?? 0 }
    }
    return lib.energyMj(g.device)
  }

  /** Instant power from field values when every GPU has it, else the 1-s average field, else GetPowerUsage. */
  private choosePowerSource(gpus: readonly Gpu[]): PowerSource {
    const lib = this.lib as NvmlLibrary
    const scope = this.spec.scope === 'module' ? 1 : 0
    if (lib.hasFieldValues) {
      for (const [id, avg] of [[NVML_FI.POWER_INSTANT, 0], [NVML_FI.POWER_AVERAGE, 1000]] as const) {
        const ok = gpus.every((g) => {
          const r = lib.fieldValues(g.device, [{ id, scope }])
          return r.ret === NVML.SUCCESS && r.values[0]?.ret === NVML.SUCCESS
        })
        if (ok) return { kind: 'field', id, scope, averagingWindowMs: avg }
      }
    }
    const instant = gpus.length > 0 && gpus.every((g) => INSTANT_USAGE.test(g.name))
    return { kind: 'usage', averagingWindowMs: instant ? 0 : 1000 }
  }

  /** Power (W) and the driver's timestamp (Unix ms) for one GPU, asynchronously; null when unavailable. */
  private async readPower(g: Gpu): Promise<{ w: number; timeMs: number | null } | null> {
    const lib = this.lib as NvmlLibrary
    const src = this.power
    if (src.kind === 'field') {
      const r = await lib.fieldValuesAsync(g.device, [{ id: src.id, scope: src.scope }])
      const v = r.values[0]
      if (r.ret === NVML.GPU_IS_LOST || v?.ret === NVML.GPU_IS_LOST) g.lost = true
      if (r.ret !== NVML.SUCCESS || !v || v.ret !== NVML.SUCCESS || v.value === null) return null
      return { w: v.value / 1000, timeMs: v.timestampUs > 0 ? v.timestampUs / 1000 : null }
    }
    const r = await lib.powerMwAsync(g.device)
    if (r.ret === NVML.GPU_IS_LOST) g.lost = true
    return r.ret === NVML.SUCCESS ? { w: r.mw / 1000, timeMs: null } : null
  }

  async start(onSample: (sample: PowerSample) => void): Promise<void> {
    if (!this.initialized || this.gpus.length === 0) await this.preflight()
    const lib = this.lib as NvmlLibrary
    const clock = this.ctx.clock
    const id = this.ctx.id
    this.loop = new PollLoop(clock, this.info.periodMs, async () => {
      const src = this.power
      const energyField = this.spec.scope === 'module' ? { id: NVML_FI.ENERGY, scope: 1 } : { id: NVML_FI.TOTAL_ENERGY_CONSUMPTION, scope: 0 }
      // GPUs read in one call each, all in flight at once: the event loop wakes about once per tick
      const combined = src.kind === 'field' ? this.gpus.filter((g) => g.combined && !g.lost) : []
      await Promise.all(
        combined.map(async (g) => {
          if (src.kind !== 'field') return
          const t0 = clock.nowNs()
          const r = await lib.fieldValuesAsync(g.device, [energyField, { id: src.id, scope: src.scope }])
          const t1 = clock.nowNs()
          const [e, p] = r.values
          if (r.ret === NVML.GPU_IS_LOST || e?.ret === NVML.GPU_IS_LOST || p?.ret === NVML.GPU_IS_LOST) g.lost = true
          const energyJ = r.ret === NVML.SUCCESS && e?.ret === NVML.SUCCESS && e.value !== null ? e.value / 1000 : null
          const powerW = r.ret === NVML.SUCCESS && p?.ret === NVML.SUCCESS && p.value !== null ? p.value / 1000 : null
          if (energyJ === null && powerW === null) return
          const stampUs = e?.timestampUs ?? p?.timestampUs ?? 0
          onSample({ meterId: id, channel: g.uuid, atNs: (t0 + t1) / 2, sourceTimeMs: stampUs > 0 ? stampUs / 1000 : null, powerW, energyJ })
        }),
      )
      for (const g of this.gpus) {
        if (g.lost || combined.includes(g)) continue
        let energyJ: number | null = null
        const t0 = clock.nowNs()
        if (g.hasEnergy) {
          const e = this.spec.scope === 'module' ? this.energyRead(g) : await lib.energyMjAsync(g.device)
          if (e.ret === NVML.SUCCESS) energyJ = e.mj / 1000
          else if (e.ret === NVML.GPU_IS_LOST) g.lost = true
        }
        const t1 = clock.nowNs()
        const p = g.lost ? null : await this.readPower(g)
        if (energyJ === null && p === null) continue
        // one sample per GPU per tick, at the energy read's midpoint (the counter is what integrates)
        onSample({ meterId: id, channel: g.uuid, atNs: (t0 + t1) / 2, sourceTimeMs: p?.timeMs ?? null, powerW: p?.w ?? null, energyJ })
      }
    })
    this.loop.start()
  }

  async stop(): Promise<void> {
    await this.loop?.stop()
    this.loop = null
    if (this.lib && this.initialized) this.lib.shutdown()
    this.initialized = false
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s
}
