import { PreflightError } from '../../core/errors.js'
import type { ServerMetricsSource } from '../../core/monitor/metrics-source.js'
import type { SeriesValue, TargetScrape } from '../../core/monitor/monitor-state.js'
import { mappedSampleNames } from '../../core/monitor/resolve-mapping.js'
import type { ServerMetricsMapping } from '../../core/monitor/server-presets.js'
import type { Clock } from '../../core/ports.js'
import { PrometheusApi } from '../meters/prometheus/prometheus-api.js'
import { ClockOffsetEstimator } from '../meters/remote/clock-offset.js'

/**
 * The servers' series read from a Prometheus that already scrapes them: one instant query per round
 * for every mapped sample name, split into replicas by the `instance` label. The counters' increases
 * are then taken client-side between rounds (the same arithmetic as PromQL `increase()` without its
 * extrapolation to the window's edges), so tokens and energy cover exactly the same rounds.
 *
 * A replica whose series vanish (Prometheus marks a failed target's series stale) is reported down;
 * Prometheus itself not answering is one failed target named by its URL.
 */
export class PrometheusSeriesSource implements ServerMetricsSource {
  private readonly api: PrometheusApi
  private readonly known = new Set<string>()
  readonly description: string
  private readonly query: string

  constructor(
    private readonly baseUrl: string,
    selector: string | undefined,
    mapping: ServerMetricsMapping,
    private readonly clock: Clock,
    timeoutMs: number,
  ) {
    this.api = new PrometheusApi({ baseUrl: new URL(baseUrl), tls: { insecure: false }, timeoutMs, clock, offset: new ClockOffsetEstimator('prometheus-eval'), authorization: undefined })
    const names = mappedSampleNames(mapping).map((n) => n.replace(/[.+*?^$()[\]{}|\\]/g, '\\\\$&'))
    const inner = selector ? selector.slice(1, -1).trim() : ''
    this.query = `{__name__=~"${names.join('|')}"${inner ? `,${inner}` : ''}}`
    this.description = `Prometheus at ${baseUrl}`
  }

  async preflight(): Promise<readonly TargetScrape[]> {
    const { scrapes } = await this.round()
    const prom = scrapes.find((s) => s.target === this.baseUrl && !s.ok)
    if (prom) throw new PreflightError(`Prometheus at ${this.baseUrl} did not answer: ${prom.error ?? 'unknown error'}`, { hint: 'check --prometheus URL (the server root, e.g. http://prometheus:9090)' })
    if (scrapes.length === 0) throw new PreflightError(`Prometheus at ${this.baseUrl} has no series matching ${this.query}`, { hint: 'check --preset (or --map) and the selector; is Prometheus scraping the servers?' })
    return scrapes
  }

  async round(): Promise<{ atNs: number; scrapes: TargetScrape[] }> {
    const sentNs = this.clock.nowNs()
    let series
    try {
      series = await this.api.instant(this.query)
    } catch (e) {
      const err = e as NodeJS.ErrnoException
      return { atNs: this.clock.nowNs(), scrapes: [{ target: this.baseUrl, ok: false, error: err.code ?? err.message, samples: [], parseErrors: 0 }] }
    }
    const atNs = (sentNs + this.clock.nowNs()) / 2
    const byInstance = new Map<string, SeriesValue[]>()
    for (const s of series) {
      const { __name__: name, ...labels } = s.labels
      const value = s.samples[0]?.[1]
      if (name === undefined || value === undefined) continue
      const instance = labels.instance ?? this.baseUrl
      let list = byInstance.get(instance)
      if (!list) byInstance.set(instance, (list = []))
      list.push({ name, labels, value })
    }
    for (const i of byInstance.keys()) this.known.add(i)
    const scrapes: TargetScrape[] = [...this.known].sort().map((target) => {
      const samples = byInstance.get(target)
      return samples
        ? { target, ok: true, error: null, samples, parseErrors: 0 }
        : { target, ok: false, error: 'absent from Prometheus (target down or its series stale)', samples: [], parseErrors: 0 }
    })
    return { atNs, scrapes }
  }

  close(): Promise<void> {
    return this.api.close()
  }
}
