import { accessSync, constants, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { KnobError } from '../../core/errors.js'
import type { KnobInfo } from '../../core/ports.js'
import { discoverZones } from '../meters/rapl/powercap.js'
import type { KnobBackend } from './knob-backend.js'

const ROOT_HINT = 'writing powercap and cpufreq limits needs root: run tokenwatt with sudo'

function readNumber(path: string): number {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new KnobError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { hint: (e as NodeJS.ErrnoException).code === 'EACCES' ? ROOT_HINT : 'is the kernel driver loaded?' })
  }
  const v = Number(text.trim())
  if (!Number.isFinite(v)) throw new KnobError(`${path}: expected a number, found ${JSON.stringify(text.trim().slice(0, 40))}`)
  return v
}

function writeNumber(path: string, value: number, knob: string): void {
  try {
    writeFileSync(path, `${Math.round(value)}\n`)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new KnobError(`${knob}: cannot write ${path}: ${code ?? (e as Error).message}`, code === 'EACCES' || code === 'EPERM' ? { hint: ROOT_HINT } : code === 'EINVAL' ? { hint: 'the kernel refused the value (outside the range it allows)' } : {})
  }
}

function checkWritable(path: string, knob: string): void {
  try {
    accessSync(path, constants.W_OK)
  } catch (e) {
    throw new KnobError(`${knob}: ${path} is not writable (${(e as NodeJS.ErrnoException).code})`, { hint: ROOT_HINT })
  }
}

export interface RaplKnobOptions {
  /** Zone channel (`package-0`, `psys`, …: the RAPL meter's names). */
  readonly zone: string
  /** The powercap root (tests point it at a temp tree). */
  readonly root?: string
}

/** `cpu.power-limit-w`: a RAPL zone's long-term limit, `constraint_0_power_limit_uw` (µW). */
export class RaplPowerLimitBackend implements KnobBackend {
  readonly id: string
  readonly info: KnobInfo
  private readonly file: string

  readonly options: Readonly<Record<string, unknown>>

  constructor(opts: RaplKnobOptions) {
    this.options = { via: 'rapl', ...opts }
    const root = opts.root ?? '/sys/class/powercap'
    const zone = discoverZones(root).find((z) => z.channel === opts.zone)
    if (!zone) {
      const found = discoverZones(root).map((z) => z.channel)
      throw new KnobError(`cpu.power-limit-w: no RAPL zone ${opts.zone} under ${root}`, { hint: found.length ? `zones here: ${found.join(', ')}` : 'no powercap zones: not an Intel/AMD CPU with intel_rapl, or a VM' })
    }
    this.file = join(zone.dir, 'constraint_0_power_limit_uw')
    this.id = `cpu.power-limit-w@rapl:${zone.channel}`
    const maxFile = join(zone.dir, 'constraint_0_max_power_uw')
    const maxW = existsSync(maxFile) ? readNumber(maxFile) / 1e6 : undefined
    this.info = { name: 'cpu.power-limit-w', unit: 'W', persistent: true, minValue: 1, ...(maxW && maxW > 0 ? { maxValue: maxW } : {}), description: `RAPL long-term power limit of ${zone.channel}` }
  }

  preflight(): void {
    this.read()
    checkWritable(this.file, this.info.name)
  }

  read(): number {
    return readNumber(this.file) / 1e6
  }

  write(valueW: number): void {
    writeNumber(this.file, valueW * 1e6, this.info.name)
  }

  readEnforced(): number {
    return this.read()
  }
}

export interface CpufreqKnobOptions {
  /** The cpu sysfs root (default /sys/devices/system/cpu). */
  readonly root?: string
}

/**
 * `cpu.max-freq-khz`: `cpufreq/scaling_max_freq` of every CPU, set together; the value read is the
 * first CPU's, and a restore writes the first CPU's original to all (they start equal on a normal host).
 */
export class CpufreqMaxBackend implements KnobBackend {
  readonly id: string
  readonly info: KnobInfo
  private readonly files: string[]

  readonly options: Readonly<Record<string, unknown>>

  constructor(opts: CpufreqKnobOptions) {
    this.options = { via: 'cpufreq', ...opts }
    const root = opts.root ?? '/sys/devices/system/cpu'
    const cpus = existsSync(root) ? readdirSync(root).filter((d) => /^cpu\d+$/.test(d)).sort((a, b) => Number(a.slice(3)) - Number(b.slice(3))) : []
    this.files = cpus.map((c) => join(root, c, 'cpufreq', 'scaling_max_freq')).filter((f) => existsSync(f))
    const first = this.files[0]
    if (!first) throw new KnobError(`cpu.max-freq-khz: no cpufreq under ${root}`, { hint: 'this machine (or VM) has no cpufreq driver' })
    const dir = join(first, '..')
    const min = existsSync(join(dir, 'cpuinfo_min_freq')) ? readNumber(join(dir, 'cpuinfo_min_freq')) : undefined
    const max = existsSync(join(dir, 'cpuinfo_max_freq')) ? readNumber(join(dir, 'cpuinfo_max_freq')) : undefined
    this.id = 'cpu.max-freq-khz@cpufreq'
    this.info = { name: 'cpu.max-freq-khz', unit: 'kHz', persistent: true, ...(min !== undefined ? { minValue: min } : {}), ...(max !== undefined ? { maxValue: max } : {}), description: `cpufreq scaling_max_freq of ${this.files.length} CPUs` }
  }

  preflight(): void {
    this.read()
    for (const f of this.files) checkWritable(f, this.info.name)
  }

  read(): number {
    return readNumber(this.files[0] as string)
  }

  write(khz: number): void {
    for (const f of this.files) writeNumber(f, khz, this.info.name)
  }

  readEnforced(): number {
    return this.read()
  }
}
