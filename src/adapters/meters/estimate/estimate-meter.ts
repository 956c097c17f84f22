import { readFileSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import type { MeterSpecOf } from '../../../core/config/meters-schema.js'
import { MeterUnavailableError } from '../../../core/errors.js'
import type { MeterInfo, MeterPreflight, PowerMeter } from '../../../core/ports.js'
import type { PowerSample } from '../../../core/records.js'
import type { MeterContext } from '../meter-context.js'
import { PollLoop } from '../remote/poll-loop.js'

/** Linux reports /proc/<pid>/stat times in USER_HZ ticks, 100 per second on every mainstream build. */
const USER_HZ = 100

/**
 * A utilisation model, for machines with no meter at all: power = idle + (max − idle) × CPU
 * utilisation, the linear model SPECpower-style profiles support (typically within 10–25 % of a wall
 * meter for CPU-bound loads; worse for GPUs, memory-bound or turbo-heavy work). CPU time comes from
 * the whole machine (`os.cpus()`), this process (`self`), or one process id (`/proc/<pid>/stat`).
 * Always labelled an estimate (`estimated: true`): the analysis reports it as modelled, never measured.
 */
export class EstimatePowerMeter implements PowerMeter {
  private loop: PollLoop | null = null
  private readonly cores: number

  constructor(
    private readonly spec: MeterSpecOf<'estimate'>,
    private readonly ctx: MeterContext,
  ) {
    this.cores = spec.cores ?? availableParallelism()
  }

  get info(): MeterInfo {
    const s = this.spec
    return {
      id: this.ctx.id,
      kind: 'estimate',
      boundary: s.boundary,
      hasCounter: false,
      periodMs: s.periodMs ?? 500,
      averagingWindowMs: 0,
      accuracyRel: s.accuracyRel ?? 0.25,
      accuracyW: s.accuracyW ?? 0,
      estimated: true,
      description: `estimate: ${s.idleW}–${s.maxW} W × CPU use of ${s.pid === undefined ? 'the machine' : s.pid === 'self' ? 'this process' : `pid ${s.pid}`} (${this.cores} cores)`,
      ...(s.component !== undefined ? { component: s.component } : {}),
      ...(s.group !== undefined ? { group: s.group } : {}),
    }
  }

  /** CPU seconds used so far, and (machine mode) the capacity seconds elapsed. */
  private cpuSeconds(): { busyS: number; totalS: number | null } {
    const pid = this.spec.pid
    if (pid === undefined) {
      let busy = 0
      let total = 0
      for (const c of cpus()) {
        const t = c.times
        busy += t.user + t.nice + t.sys + t.irq
        total += t.user + t.nice + t.sys + t.irq + t.idle
      }
      return { busyS: busy / 1000, totalS: total / 1000 }
    }
    if (pid === 'self') {
      const u = process.cpuUsage()
      return { busyS: (u.user + u.system) / 1e6, totalS: null }
    }
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name (field 2) may hold spaces and parentheses: split after its last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const utime = Number(fields[11])
    const stime = Number(fields[12])
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unexpected /proc/${pid}/stat`)
    return { busyS: (utime + stime) / USER_HZ, totalS: null }
  }

  async preflight(): Promise<MeterPreflight> {
    try {
      this.cpuSeconds()
    } catch (e) {
      throw new MeterUnavailableError(`estimate: cannot read the CPU time of pid ${String(this.spec.pid)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
        hint: 'give the pid of a running process on this Linux machine, `self`, or leave pid out for the whole machine',
        cause: e,
      })
    }
    return { ok: true, channels: [this.spec.boundary], message: `${this.info.description}; an estimate, reported as modelled` }
  }

  async start(onSample: (sample: PowerSample) => void): Promise<void> {
    const clock = this.ctx.clock
    let prev = { atNs: clock.nowNs(), ...this.cpuSeconds() }
    const { idleW, maxW } = this.spec
    this.loop = new PollLoop(clock, this.info.periodMs, async () => {
      let now: { busyS: number; totalS: number | null }
      try {
        now = this.cpuSeconds()
      } catch {
        return // the process ended: no more samples, the gap shows as lower coverage
      }
      const atNs = clock.nowNs()
      const wallS = (atNs - prev.atNs) / 1e9
      if (wallS <= 0) return
      const capacityS = now.totalS !== null && prev.totalS !== null ? now.totalS - prev.totalS : wallS * this.cores
      const util = capacityS > 0 ? Math.min(1, Math.max(0, (now.busyS - prev.busyS) / capacityS)) : 0
      // The reading is the average over the interval just ended: place it at the interval's middle.
      onSample({ meterId: this.ctx.id, channel: this.spec.boundary, atNs: (prev.atNs + atNs) / 2, sourceTimeMs: null, powerW: idleW + (maxW - idleW) * util, energyJ: null })
      prev = { atNs, ...now }
    })
    this.loop.start()
  }

  async stop(): Promise<void> {
    await this.loop?.stop()
    this.loop = null
  }
}
