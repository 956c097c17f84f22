import { KnobError } from '../../core/errors.js'
import type { HardwareKnobSpec } from '../../core/sweep/sweep-schema.js'
import { NVML, openNvml } from '../meters/nvml/nvml-library.js'
import { discoverZones } from '../meters/rapl/powercap.js'
import type { KnobBackend } from './knob-backend.js'
import { NvidiaSmiPowerLimitBackend } from './nvidia-smi-knob.js'
import { AmdSmiPowerCapBackend } from './amd-smi-knob.js'
import { nvmlLibraryPath, NvmlLockedClockBackend, NvmlPowerLimitBackend, NvmlPowerProfileBackend } from './nvml-knobs.js'
import { CpufreqMaxBackend, RaplPowerLimitBackend } from './sysfs-knobs.js'

type Env = Readonly<Record<string, string | undefined>>

/** Whether a knob name changes hardware (journalled, restored) rather than the load or the server. */
export function isHardwareKnob(name: string): boolean {
  return name.startsWith('gpu.') || name.startsWith('cpu.')
}

/**
 * The backends one hardware knob of a sweep drives: one per GPU (or RAPL zone) it names. The
 * options each backend keeps are what {@link recreateBackend} needs in a later process.
 */
export function createBackends(spec: HardwareKnobSpec, env: Env): KnobBackend[] {
  const out: KnobBackend[] = []
  for (const options of targets(spec, env)) out.push(recreateBackend(spec.name, options, env))
  return out
}

function targets(spec: HardwareKnobSpec, env: Env): Record<string, unknown>[] {
  if (spec.name.startsWith('gpu.')) {
    const via = spec.via ?? 'nvml'
    if ((via === 'nvidia-smi' || via === 'amd-smi') && spec.name !== 'gpu.power-limit-w') throw new KnobError(`${spec.name}: only gpu.power-limit-w can be set through ${via}`, { hint: 'use via: nvml for clocks and power profiles' })
    const devices = spec.devices === 'all' ? gpuIndices(spec, env) : spec.devices
    return devices.map((device) => ({ via, device, ...(spec.library ? { library: spec.library } : {}), ...(spec.command ? { command: spec.command } : {}) }))
  }
  if (spec.name === 'cpu.power-limit-w') {
    const root = spec.root ?? '/sys/class/powercap'
    const zones = spec.zones ?? discoverZones(root).filter((z) => /^package-\d+$/.test(z.channel)).map((z) => z.channel)
    if (zones.length === 0) throw new KnobError(`cpu.power-limit-w: no RAPL package zones under ${root}`, { hint: 'no powercap here (not an Intel/AMD CPU with intel_rapl, or a VM); name zones with `zones:`' })
    return zones.map((zone) => ({ via: 'rapl', zone, ...(spec.root ? { root: spec.root } : {}) }))
  }
  if (spec.name === 'cpu.max-freq-khz') return [{ via: 'cpufreq', ...(spec.root ? { root: spec.root } : {}) }]
  throw new KnobError(`${spec.name}: not a hardware knob`)
}

/** Every GPU index the driver lists. */
function gpuIndices(spec: HardwareKnobSpec, env: Env): number[] {
  if ((spec.via ?? 'nvml') !== 'nvml') throw new KnobError(`${spec.name}: via ${spec.via} needs the GPUs named`, { hint: 'give devices: [0, 1, …]' })
  const path = spec.library ?? env.TOKENWATT_NVML_LIBRARY ?? 'libnvidia-ml.so.1'
  let lib
  try {
    lib = openNvml(path)
  } catch (e) {
    throw new KnobError(`${spec.name}: cannot load NVML from ${path} (${(e as Error).message.split('\n')[0]})`, { hint: 'no NVIDIA driver here? set TOKENWATT_NVML_LIBRARY, or `via: nvidia-smi`' })
  }
  try {
    if (lib.init() !== NVML.SUCCESS) throw new KnobError(`${spec.name}: nvmlInit failed`, { hint: 'is the NVIDIA driver loaded?' })
    const { ret, count } = lib.deviceCount()
    lib.shutdown()
    if (ret !== NVML.SUCCESS || count === 0) throw new KnobError(`${spec.name}: NVML lists no GPU`, { hint: '`nvidia-smi -L` should list them' })
    return [...Array(count).keys()]
  } finally {
    lib.unload()
  }
}

/** Builds the backend a journal entry (or a sweep) names: knob name + the options it was created with. */
export function recreateBackend(name: string, options: Readonly<Record<string, unknown>>, env: Env): KnobBackend {
  const via = options.via
  const device = typeof options.device === 'number' ? options.device : 0
  const library = typeof options.library === 'string' ? options.library : undefined
  const nvmlOpts = { device, ...(library ? { library } : {}) }
  if (name === 'gpu.power-limit-w' && via === 'nvidia-smi') return new NvidiaSmiPowerLimitBackend({ device, ...(typeof options.command === 'string' ? { command: options.command } : {}) }, env)
  if (name === 'gpu.power-limit-w' && via === 'amd-smi') return new AmdSmiPowerCapBackend({ device, ...(typeof options.command === 'string' ? { command: options.command } : {}) }, env)
  if (name === 'gpu.power-limit-w' && via === 'nvml') return new NvmlPowerLimitBackend(nvmlOpts, nvmlLibraryPath(nvmlOpts, env))
  if (name === 'gpu.sm-clock-mhz' && via === 'nvml') return new NvmlLockedClockBackend(nvmlOpts, nvmlLibraryPath(nvmlOpts, env))
  if (name === 'gpu.power-profile' && via === 'nvml') return new NvmlPowerProfileBackend(nvmlOpts, nvmlLibraryPath(nvmlOpts, env))
  if (name === 'cpu.power-limit-w' && via === 'rapl') return new RaplPowerLimitBackend({ zone: String(options.zone), ...(typeof options.root === 'string' ? { root: options.root } : {}) })
  if (name === 'cpu.max-freq-khz' && via === 'cpufreq') return new CpufreqMaxBackend(typeof options.root === 'string' ? { root: options.root } : {})
  throw new KnobError(`knob ${name} via ${String(via)}: not a knob this version can drive`, { hint: 'a journal written by another tokenwatt version? restore it by hand and delete the entry' })
}
