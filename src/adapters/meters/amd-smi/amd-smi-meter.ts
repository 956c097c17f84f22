import type { MeterSpecOf } from '../../../core/config/meters-schema.js'
import { MeterUnavailableError } from '../../../core/errors.js'
import type { MeterInfo, MeterPreflight, PowerMeter } from '../../../core/ports.js'
import type { PowerSample } from '../../../core/records.js'
import type { MeterContext } from '../meter-context.js'
import { describeToolFailure, firstLine, LineChild, runTool } from '../local/run-tool.js'
import { PollLoop } from '../remote/poll-loop.js'
import { type AmdGpuReading, AmdTextReader, JsonStreamSplitter, readAmdJson } from './amd-smi-output.js'

/** The energy accumulator counts 15.3 µJ steps (rocm_smi `kEnergyCounterResolution`). */
const AMD_ENERGY_STEP_J = 15.3e-6

/**
 * AMD Instinct socket energy and power from `amd-smi metric -p -E`: the energy counter (J since the
 * driver loaded) is primary, socket power the cross-check. By default one long-lived
 * `amd-smi metric … -w SECONDS --json` child for the run (a Python CLI: starting it per sample would
 * cost far more than 1 % of a core); the human format is read too, since JSON in watch mode was
 * broken in some releases (ROCm/amdsmi#168). Channels are `amdgpu-<index>`.
 */
export class AmdSmiPowerMeter implements PowerMeter {
  private child: LineChild | null = null
  private loop: PollLoop | null = null
  private channels: string[] = []
  private hasEnergy = true

  constructor(
    private readonly spec: MeterSpecOf<'amd-smi'>,
    private readonly ctx: MeterContext,
  ) {}

  get info(): MeterInfo {
    const s = this.spec
    return {
      id: this.ctx.id,
      kind: 'amd-smi',
      boundary: s.boundary,
      hasCounter: this.hasEnergy,
      periodMs: this.periodS() * 1000,
      averagingWindowMs: 0,
      // AMD documents no accuracy for socket power/energy; ±5 % like the other on-board sensors.
      accuracyRel: s.accuracyRel ?? 0.05,
      accuracyW: s.accuracyW ?? 0,
      resolutionJ: AMD_ENERGY_STEP_J,
      resolutionW: 1,
      // the CLI prints no time: readings are stamped when their line arrives, a Python process later
      timeUncertaintyMs: 100,
      estimated: false,
      description: `amd-smi socket energy/power of ${this.channels.length || '?'} GPU${this.channels.length === 1 ? '' : 's'}`,
      ...(s.component !== undefined ? { component: s.component } : {}),
      ...(s.group !== undefined ? { group: s.group } : {}),
    }
  }

  /** amd-smi's watch interval is whole seconds. */
  private periodS(): number {
    return Math.max(1, Math.round((this.spec.periodMs ?? 1000) / 1000))
  }

  private baseArgs(): string[] {
    const args = ['metric', '-p', '-E']
    if (this.spec.devices && this.spec.devices.length > 0) args.push('-g', ...this.spec.devices)
    return args
  }

  private wanted(r: AmdGpuReading): boolean {
    return this.channels.length === 0 || this.channels.includes(`amdgpu-${r.gpu}`)
  }

  async preflight(): Promise<MeterPreflight> {
    const bin = this.spec.binary
    const r = await runTool(bin, [...this.baseArgs(), '--json'], { env: this.ctx.env, timeoutMs: 30_000, extraEnv: { PYTHONUNBUFFERED: '1' } })
    if (r.code !== 0 || r.errorCode !== null)
      throw new MeterUnavailableError(describeToolFailure(bin, r), {
        hint: r.errorCode === 'ENOENT' ? 'install ROCm (amd-smi), or name the binary with meters[].binary' : /amdgpu|driver|not initialized/i.test(r.stdout + r.stderr) ? 'the amdgpu driver is not loaded (or this is a VM guest, where energy is not supported)' : 'run `amd-smi metric -p -E` by hand to see what it says',
      })
    const docs = new JsonStreamSplitter().push(r.stdout)
    let readings = docs.flatMap(readAmdJson)
    if (readings.length === 0) {
      const text = new AmdTextReader()
      readings = r.stdout.split('\n').map((l) => text.line(l)).filter((x): x is AmdGpuReading => x !== null)
      const last = text.flush()
      if (last) readings.push(last)
    }
    if (readings.length === 0) throw new MeterUnavailableError(`amd-smi: no GPU in its output (${firstLine(r.stdout) || 'empty'})`, { hint: 'amd-smi list shows the GPUs this user can see' })
    const usable = readings.filter((x) => x.energyJ !== null || x.powerW !== null)
    if (usable.length === 0)
      throw new MeterUnavailableError('amd-smi: socket power and energy are N/A on every GPU', { hint: 'in CPX/DPX partition modes only one partition per physical GPU reports power; select it with --meter amd-smi:INDEX' })
    this.channels = usable.map((x) => `amdgpu-${x.gpu}`)
    this.hasEnergy = usable.some((x) => x.energyJ !== null)
    const naPower = readings.filter((x) => x.powerW === null && x.energyJ === null).map((x) => x.gpu)
    return {
      ok: true,
      channels: this.channels,
      message: `${usable.length} GPU${usable.length === 1 ? '' : 's'}, ${this.hasEnergy ? 'energy counter' : 'socket power only'}${naPower.length > 0 ? `; N/A on GPU ${naPower.join(', ')} (secondary partitions)` : ''}`,
    }
  }

  async start(onSample: (sample: PowerSample) => void): Promise<void> {
    if (this.channels.length === 0) await this.preflight()
    const clock = this.ctx.clock
    const emit = (r: AmdGpuReading, atNs: number): void => {
      if (!this.wanted(r) || (r.powerW === null && r.energyJ === null)) return
      onSample({ meterId: this.ctx.id, channel: `amdgpu-${r.gpu}`, atNs, sourceTimeMs: null, powerW: r.powerW, energyJ: r.energyJ })
    }
    if (this.spec.mode === 'poll') {
      this.loop = new PollLoop(clock, this.periodS() * 1000, async () => {
        const t0 = clock.nowNs()
        const r = await runTool(this.spec.binary, [...this.baseArgs(), '--json'], { env: this.ctx.env, timeoutMs: 30_000 })
        const atNs = (t0 + clock.nowNs()) / 2
        if (r.code !== 0) return
        for (const doc of new JsonStreamSplitter().push(r.stdout)) for (const g of readAmdJson(doc)) emit(g, atNs)
      })
      this.loop.start()
      return
    }
    const json = new JsonStreamSplitter()
    const text = new AmdTextReader()
    this.child = new LineChild(
      this.spec.binary,
      [...this.baseArgs(), '-w', String(this.periodS()), '--json'],
      this.ctx.env,
      (line) => {
        const atNs = clock.nowNs()
        const docs = json.push(`${line}\n`)
        for (const doc of docs) for (const g of readAmdJson(doc)) emit(g, atNs)
        if (docs.length === 0) {
          const g = text.line(line)
          if (g) emit(g, atNs)
        }
      },
      { PYTHONUNBUFFERED: '1' },
    )
    this.child.start()
  }

  async stop(): Promise<void> {
    await this.child?.stop()
    this.child = null
    await this.loop?.stop()
    this.loop = null
  }
}
