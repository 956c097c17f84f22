import { Agent } from 'undici'
import { PreflightError } from '../../core/errors.js'
import { parseExposition } from '../../core/monitor/exposition.js'
import type { ServerMetricsSource } from '../../core/monitor/metrics-source.js'
import type { TargetScrape } from '../../core/monitor/monitor-state.js'
import type { ServerMetricsMapping } from '../../core/monitor/server-presets.js'
import type { Clock } from '../../core/ports.js'
import { timedRequest } from '../meters/remote/http-target.js'

/**
 * Scrapes every replica's `/metrics` (Prometheus text format 0.0.4) in parallel each round. A round's
 * time is the mean of the replicas' request midpoints: the server reads its counters while answering.
 */
export class DirectScrapeSource implements ServerMetricsSource {
  private readonly dispatcher: Agent
  readonly description: string

  constructor(
    private readonly urls: readonly string[],
    private readonly mapping: ServerMetricsMapping,
    private readonly clock: Clock,
    private readonly timeoutMs: number,
  ) {
    this.dispatcher = new Agent({ connect: { timeout: timeoutMs }, connections: 2 })
    this.description = `${urls.length} replica(s) scraped directly`
  }

  async preflight(): Promise<readonly TargetScrape[]> {
    const { scrapes } = await this.round()
    const up = scrapes.filter((s) => s.ok)
    if (up.length === 0) {
      const first = scrapes[0]
      throw new PreflightError(`no replica answered on /metrics (${first?.target ?? 'none'}: ${first?.error ?? 'no URL'})`, {
        hint: 'check --server-metrics URLs (vLLM/SGLang serve /metrics on the API port; SGLang needs --enable-metrics, llama-server --metrics)',
      })
    }
    const name = this.mapping.outputTokens.metric
    if (!up.some((s) => s.samples.some((v) => v.name === name))) {
      const seen = [...new Set(up.flatMap((s) => s.samples.map((v) => v.name)))].slice(0, 8)
      throw new PreflightError(`no replica exposes ${name}`, { hint: `pick the server's --preset or --map output=METRIC; seen: ${seen.join(', ') || 'no series'}` })
    }
    return scrapes
  }

  async round(): Promise<{ atNs: number; scrapes: TargetScrape[] }> {
    const results = await Promise.all(this.urls.map((u) => this.scrapeOne(u)))
    const mids = results.filter((r) => r.midNs !== null).map((r) => r.midNs as number)
    const atNs = mids.length > 0 ? mids.reduce((a, b) => a + b, 0) / mids.length : this.clock.nowNs()
    return { atNs, scrapes: results.map((r) => r.scrape) }
  }

  close(): Promise<void> {
    return this.dispatcher.close()
  }

  private async scrapeOne(url: string): Promise<{ scrape: TargetScrape; midNs: number | null }> {
    try {
      const res = await timedRequest(this.dispatcher, this.clock, new URL(url), { timeoutMs: this.timeoutMs, headers: { accept: 'text/plain;version=0.0.4' } })
      if (res.status !== 200) return { scrape: failed(url, `HTTP ${res.status}`), midNs: null }
      const parsed = parseExposition(res.text)
      return {
        scrape: { target: url, ok: true, error: null, samples: parsed.samples, parseErrors: parsed.errors.length },
        midNs: (res.sentAtNs + res.recvAtNs) / 2,
      }
    } catch (e) {
      const err = e as NodeJS.ErrnoException
      return { scrape: failed(url, err.code ?? err.message), midNs: null }
    }
  }
}

function failed(target: string, error: string): TargetScrape {
  return { target, ok: false, error, samples: [], parseErrors: 0 }
}
