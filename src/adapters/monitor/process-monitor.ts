import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import type { ClientMonitor } from '../../core/ports.js'

/**
 * Watches this process while it generates load: CPU time used (user + system) per second of wall time,
 * and the event-loop delay. A load generator that uses a whole core, or whose event loop runs late,
 * timestamps chunks late: the run then warns that the client, not the server, was the limit.
 */
export class ProcessClientMonitor implements ClientMonitor {
  private histogram: IntervalHistogram | null = null
  private cpuStart: NodeJS.CpuUsage | null = null
  private wallStartNs = 0n

  start(): void {
    this.histogram = monitorEventLoopDelay({ resolution: 10 })
    this.histogram.enable()
    this.cpuStart = process.cpuUsage()
    this.wallStartNs = process.hrtime.bigint()
  }

  stop(): { cpuUtilization: number | null; eventLoopDelayP99Ms: number | null } {
    if (!this.histogram || !this.cpuStart) return { cpuUtilization: null, eventLoopDelayP99Ms: null }
    this.histogram.disable()
    const cpu = process.cpuUsage(this.cpuStart)
    const wallUs = Number(process.hrtime.bigint() - this.wallStartNs) / 1e3
    const p99Ns = this.histogram.percentile(99)
    this.histogram = null
    return {
      cpuUtilization: wallUs > 0 ? (cpu.user + cpu.system) / wallUs : null,
      // The histogram includes the sampling resolution (10 ms) as its floor; report the excess.
      eventLoopDelayP99Ms: Number.isFinite(p99Ns) ? Math.max(0, p99Ns / 1e6 - 10) : null,
    }
  }
}
