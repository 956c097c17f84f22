import type { MeterSpecOf } from '../../../core/config/meters-schema.js'
import { MeterUnavailableError } from '../../../core/errors.js'
import type { MeterInfo, MeterPreflight, PowerMeter } from '../../../core/ports.js'
import type { PowerSample } from '../../../core/records.js'
import type { MeterContext } from '../meter-context.js'
import { PollLoop } from '../remote/poll-loop.js'
import { discoverZones, type RaplZone, readEnergyUj, selectZones, ZoneReader } from './powercap.js'

/** Intel's energy status unit is 2^-14 J (61 µJ); AMD's 15.3 µJ. The larger is the honest step. */
const RAPL_STEP_J = 61e-6

/**
 * CPU package, DRAM and platform energy from RAPL through the powercap sysfs tree. A cumulative µJ
 * counter that wraps at `max_energy_range_uj` (the core unwraps it with `counterModulusJ`). At the
 * `node` boundary it reads only the CPU and memory (`component: cpu+dram`), which feeds the
 * host-overhead model; put it at `device` when the CPU is the accelerator (CPU inference).
 *
 * Since Linux 5.10 `energy_uj` is readable only by root (CVE-2020-8694): preflight says so.
 */
export class RaplPowerMeter implements PowerMeter {
  private zones: RaplZone[] = []
  private loop: PollLoop | null = null
  private reader: ZoneReader | null = null
  private infoValue: MeterInfo

  constructor(
    private readonly spec: MeterSpecOf<'rapl'>,
    private readonly ctx: MeterContext,
  ) {
    this.infoValue = this.makeInfo([])
  }

  get info(): MeterInfo {
    return this.infoValue
  }

  private makeInfo(zones: readonly RaplZone[]): MeterInfo {
    const modulus: Record<string, number> = {}
    for (const z of zones) if (z.maxRangeUj !== null) modulus[z.channel] = z.maxRangeUj / 1e6
    const component = this.spec.component ?? (this.spec.boundary === 'node' ? (zones.some((z) => z.channel === 'psys') ? 'platform (psys)' : 'cpu+dram') : undefined)
    return {
      id: this.ctx.id,
      kind: 'rapl',
      boundary: this.spec.boundary,
      hasCounter: true,
      periodMs: this.spec.periodMs ?? 100,
      averagingWindowMs: 0,
      // RAPL is measured (not modelled) on Haswell and later; published validations are within a few %.
      accuracyRel: this.spec.accuracyRel ?? 0.05,
      accuracyW: this.spec.accuracyW ?? 0,
      estimated: false,
      description: zones.length > 0 ? `RAPL ${zones.map((z) => z.channel).join(', ')}` : 'RAPL (powercap)',
      resolutionJ: RAPL_STEP_J,
      counterModulusJ: modulus,
      ...(component !== undefined ? { component } : {}),
      ...(this.spec.group !== undefined ? { group: this.spec.group } : {}),
    }
  }

  async preflight(): Promise<MeterPreflight> {
    const root = this.spec.root
    const all = discoverZones(root)
    if (all.length === 0)
      throw new MeterUnavailableError(`RAPL: no powercap zones under ${root} (not an Intel/AMD CPU with the intel_rapl driver, a VM, or a container without ${root})`, {
        hint: 'on the host: sudo modprobe intel_rapl_msr; in a container, mount /sys/class/powercap read-only from the host',
      })
    const { zones, unknown } = selectZones(all, this.spec.zones)
    if (unknown.length > 0)
      throw new MeterUnavailableError(`RAPL: no zone named ${unknown.join(', ')} under ${root}`, { hint: `zones here: ${all.map((z) => z.channel).join(', ')}` })
    if (zones.length === 0) throw new MeterUnavailableError(`RAPL: no package or dram zone under ${root}`, { hint: `zones here: ${all.map((z) => z.channel).join(', ')}; pick with --meter rapl:NAME` })
    for (const z of zones) {
      try {
        readEnergyUj(z)
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code === 'EACCES' || code === 'EPERM')
          throw new MeterUnavailableError(`RAPL: ${z.energyFile} is readable only by root (Linux ≥ 5.10, CVE-2020-8694 "Platypus")`, {
            hint: 'run tokenwatt as root, or let an admin grant read access (sudo chmod 0444 /sys/class/powercap/intel-rapl:*/energy_uj; a udev rule makes it last) — this exposes a power side channel to every local user',
            cause: e,
          })
        throw new MeterUnavailableError(`RAPL: cannot read ${z.energyFile}: ${(e as Error).message}`, { cause: e })
      }
    }
    this.zones = zones
    this.infoValue = this.makeInfo(zones)
    const warn = zones.filter((z) => z.maxRangeUj === null).map((z) => z.channel)
    return {
      ok: true,
      channels: zones.map((z) => z.channel),
      message: `${zones.length} zone${zones.length === 1 ? '' : 's'}: ${zones.map((z) => z.channel).join(', ')}${warn.length > 0 ? ` (no max_energy_range_uj for ${warn.join(', ')}: wraps read as resets)` : ''}`,
    }
  }

  async start(onSample: (sample: PowerSample) => void): Promise<void> {
    if (this.zones.length === 0) await this.preflight()
    const clock = this.ctx.clock
    const reader = (this.reader = new ZoneReader(this.zones))
    this.loop = new PollLoop(clock, this.infoValue.periodMs, async () => {
      this.zones.forEach((z, i) => {
        const uj = reader.read(i)
        if (uj === null) return // a failed read is a gap, not a crash
        onSample({ meterId: this.ctx.id, channel: z.channel, atNs: clock.nowNs(), sourceTimeMs: null, powerW: null, energyJ: uj / 1e6 })
      })
    })
    this.loop.start()
  }

  async stop(): Promise<void> {
    await this.loop?.stop()
    this.loop = null
    this.reader?.close()
    this.reader = null
  }
}
