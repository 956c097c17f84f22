import { createServer, type Server } from 'node:http'
import { Counter, Gauge, Registry } from 'prom-client'
import { ConfigError } from '../../core/errors.js'
import type { MonitorSnapshot } from '../../core/monitor/monitor-snapshot.js'
import type { MeterInfo } from '../../core/ports.js'
import type { PowerSample, RequestRecord } from '../../core/records.js'
import type { RunSummary } from '../../core/summary.js'
import { LATENCY_KINDS } from '../../core/monitor/server-presets.js'

/**
 * tokenwatt's figures on `/metrics` for Prometheus (prom-client, a private Registry, plain node:http),
 * named by Prometheus conventions: base units in the name (`_joules`, `_watts`, `_seconds`, `_ratio`),
 * `_total` only on counters, and the rolling window and boundary as labels. Each scrape reads the last
 * published snapshot; nothing is computed on the scrape path.
 */
export const EXPORTED_METRICS = {
  outputTokensPerJoule: 'tokenwatt_output_tokens_per_joule',
  joulesPerOutputToken: 'tokenwatt_joules_per_output_token',
  outputTokensPerSecond: 'tokenwatt_output_tokens_per_second',
  outputTokensPerSecondPerMegawatt: 'tokenwatt_output_tokens_per_second_per_megawatt',
  usdPerMillionOutputTokens: 'tokenwatt_usd_per_million_output_tokens',
  boundaryPowerWatts: 'tokenwatt_boundary_power_watts',
  powerWatts: 'tokenwatt_power_watts',
  utilizationRatio: 'tokenwatt_utilization_ratio',
  idleRatio: 'tokenwatt_idle_ratio',
  latencySeconds: 'tokenwatt_server_latency_seconds',
  requestsRunning: 'tokenwatt_server_requests_running',
  outputTokensTotal: 'tokenwatt_server_output_tokens_total',
  inputTokensTotal: 'tokenwatt_server_input_tokens_total',
  targetUp: 'tokenwatt_server_target_up',
  scrapeErrorsTotal: 'tokenwatt_server_scrape_errors_total',
  counterResetsTotal: 'tokenwatt_server_counter_resets_total',
  alertFiring: 'tokenwatt_alert_firing',
  energyJoulesTotal: 'tokenwatt_energy_joules_total',
  benchRequestsTotal: 'tokenwatt_bench_requests_total',
  benchOutputTokensTotal: 'tokenwatt_bench_output_tokens_total',
} as const

export class PrometheusExporter {
  readonly registry = new Registry()
  private server: Server | null = null
  private readonly g: Record<string, Gauge>
  private readonly c: Record<string, Counter>
  /** Counter values already exported, per label set, so a new snapshot adds only the increase. */
  private readonly exported = new Map<string, number>()
  private readonly lastSample = new Map<string, PowerSample>()

  constructor(readonly labels: Readonly<Record<string, string>> = {}) {
    const gauge = (name: string, help: string, labelNames: string[]): Gauge => new Gauge({ name, help, labelNames, registers: [this.registry] })
    const counter = (name: string, help: string, labelNames: string[]): Counter => new Counter({ name, help, labelNames, registers: [this.registry] })
    const M = EXPORTED_METRICS
    this.g = {
      tpj: gauge(M.outputTokensPerJoule, 'Output tokens per joule at the boundary over the rolling window (servers\' counters ÷ metered energy).', ['boundary', 'window']),
      jpt: gauge(M.joulesPerOutputToken, 'Joules per output token at the boundary over the rolling window.', ['boundary', 'window']),
      tps: gauge(M.outputTokensPerSecond, 'Output tokens per second the servers counted over the rolling window.', ['window']),
      perMw: gauge(M.outputTokensPerSecondPerMegawatt, 'Output tokens/s per MW of measured average draw (basis="measured") or of provisioned power (basis="provisioned").', ['boundary', 'window', 'basis']),
      usd: gauge(M.usdPerMillionOutputTokens, 'Cost per million output tokens over the rolling window (the bench cost model).', ['window']),
      bw: gauge(M.boundaryPowerWatts, 'Average power at the boundary over the rolling window (W).', ['boundary', 'window']),
      pw: gauge(M.powerWatts, 'Last power reading of each meter channel (W).', ['meter', 'channel', 'boundary']),
      util: gauge(M.utilizationRatio, 'Output tokens/s over the best a bench of the same system measured (--capacity-from).', ['window']),
      idle: gauge(M.idleRatio, 'Share of the window with no tokens generated and nothing in flight.', ['window']),
      lat: gauge(M.latencySeconds, "Latency quantiles from the servers' own histograms over the rolling window (s).", ['metric', 'quantile', 'window']),
      run: gauge(M.requestsRunning, 'Requests in flight, summed over replicas (the preset\'s gauge).', []),
      up: gauge(M.targetUp, 'Whether the replica answered the last scrape (1) or not (0).', ['target']),
      alert: gauge(M.alertFiring, 'Alert rule state: 1 firing, 0 not (ok, pending or unknown).', ['alert', 'state']),
    }
    this.c = {
      out: counter(M.outputTokensTotal, 'Output tokens the servers counted since the monitor started (resets handled).', []),
      inp: counter(M.inputTokensTotal, 'Input tokens the servers counted since the monitor started (resets handled).', []),
      err: counter(M.scrapeErrorsTotal, 'Failed scrapes of the replica.', ['target']),
      rst: counter(M.counterResetsTotal, 'Counter resets seen on the replica (restarts).', ['target']),
      energy: counter(M.energyJoulesTotal, "Energy each meter channel read since tokenwatt started (J): counter differences where the source has one, else trapezoids of its power readings.", ['meter', 'channel', 'boundary']),
      breq: counter(M.benchRequestsTotal, 'Requests a running bench finished, by outcome (ok or the error kind).', ['outcome']),
      btok: counter(M.benchOutputTokensTotal, 'Output tokens of the requests a running bench finished.', []),
    }
    if (Object.keys(labels).length > 0) this.registry.setDefaultLabels({ ...labels })
  }

  /** Replaces the exported figures with a new snapshot's. */
  publish(s: MonitorSnapshot): void {
    const { g } = this
    for (const k of ['tpj', 'jpt', 'tps', 'perMw', 'usd', 'bw', 'util', 'idle', 'lat'] as const) g[k]?.reset()
    const set = (gauge: Gauge | undefined, labels: Record<string, string>, v: number | null): void => {
      if (gauge && v !== null && Number.isFinite(v)) gauge.set(labels, v)
    }
    for (const w of s.windows) {
      const b = w.boundary ?? 'none'
      set(g.tpj, { boundary: b, window: w.window }, w.outputTokensPerJoule)
      set(g.jpt, { boundary: b, window: w.window }, w.joulesPerOutputToken)
      set(g.tps, { window: w.window }, w.outputTokensPerS)
      set(g.perMw, { boundary: b, window: w.window, basis: 'measured' }, w.outputTokensPerSPerMW)
      set(g.perMw, { boundary: b, window: w.window, basis: 'provisioned' }, w.outputTokensPerSPerProvisionedMW)
      set(g.usd, { window: w.window }, w.usdPerMillionOutputTokens)
      set(g.bw, { boundary: b, window: w.window }, w.powerW)
      set(g.util, { window: w.window }, w.utilization)
      set(g.idle, { window: w.window }, w.idleShare)
      for (const kind of LATENCY_KINDS) {
        const q = w.latency[kind]
        if (!q) continue
        set(g.lat, { metric: kind, quantile: '0.5', window: w.window }, q.p50Ms === null ? null : q.p50Ms / 1000)
        set(g.lat, { metric: kind, quantile: '0.9', window: w.window }, q.p90Ms === null ? null : q.p90Ms / 1000)
        set(g.lat, { metric: kind, quantile: '0.99', window: w.window }, q.p99Ms === null ? null : q.p99Ms / 1000)
      }
    }
    if (s.running !== null) g.run?.set(s.running)
    for (const t of s.targets) {
      g.up?.set({ target: t.target }, t.up ? 1 : 0)
      this.advance('err', { target: t.target }, t.scrapeErrors)
      this.advance('rst', { target: t.target }, t.counterResets)
    }
    this.advance('out', {}, s.outputTokensTotal)
    this.advance('inp', {}, s.inputTokensTotal)
    g.alert?.reset()
    for (const a of s.alerts) g.alert?.set({ alert: a.rule, state: a.state }, a.state === 'firing' ? 1 : 0)
  }

  /** Every meter sample as it comes: the channel's power gauge and its energy counter. */
  observeSample(s: PowerSample, info: MeterInfo): void {
    const labels = { meter: s.meterId, channel: s.channel, boundary: info.boundary }
    if (s.powerW !== null && Number.isFinite(s.powerW)) this.g.pw?.set(labels, s.powerW)
    const key = `${s.meterId}\u0000${s.channel}`
    const prev = this.lastSample.get(key)
    this.lastSample.set(key, s)
    if (!prev) {
      this.c.energy?.inc(labels, 0)
      return
    }
    let joules = 0
    if (s.energyJ !== null && prev.energyJ !== null && s.energyJ >= prev.energyJ) joules = s.energyJ - prev.energyJ
    else if (s.powerW !== null && prev.powerW !== null && s.atNs > prev.atNs) joules = ((s.powerW + prev.powerW) / 2) * ((s.atNs - prev.atNs) / 1e9)
    if (joules > 0 && Number.isFinite(joules)) this.c.energy?.inc(labels, joules)
  }

  /** A finished request of a running bench. */
  observeRequest(r: RequestRecord): void {
    if (r.phase !== 'measure') return
    this.c.breq?.inc({ outcome: r.error === null ? 'ok' : r.error.kind })
    if (r.error === null && r.outputTokens !== null) this.c.btok?.inc(r.outputTokens)
  }

  /** A finished bench's headline figures, as window="run". */
  publishSummary(s: RunSummary): void {
    const b = s.efficiency?.boundary ?? s.power?.boundary ?? 'none'
    const set = (gauge: Gauge | undefined, labels: Record<string, string>, v: number | null | undefined): void => {
      if (gauge && v !== null && v !== undefined && Number.isFinite(v)) gauge.set(labels, v)
    }
    set(this.g.tpj, { boundary: b, window: 'run' }, s.efficiency?.outputTokensPerJoule)
    set(this.g.jpt, { boundary: b, window: 'run' }, s.efficiency?.joulesPerOutputToken)
    set(this.g.tps, { window: 'run' }, s.throughput.outputTokensPerS)
    set(this.g.perMw, { boundary: b, window: 'run', basis: 'measured' }, s.efficiency?.outputTokensPerSPerMW)
    set(this.g.perMw, { boundary: b, window: 'run', basis: 'provisioned' }, s.efficiency?.outputTokensPerSPerProvisionedMW)
    set(this.g.usd, { window: 'run' }, s.cost?.usdPerMillionOutputTokens)
    set(this.g.bw, { boundary: b, window: 'run' }, s.power?.avgW)
  }

  /** Starts serving GET /metrics on host:port (port 0: any free one); returns the URL. */
  async listen(hostPort: string): Promise<string> {
    const { host, port } = parseHostPort(hostPort)
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('tokenwatt exporter: GET /metrics\n')
        return
      }
      this.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`),
      )
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new ConfigError(`--exporter ${hostPort}: cannot listen (${e.code ?? e.message})`, { hint: 'pick a free port, e.g. --exporter 127.0.0.1:9464' })),
      )
      server.listen(port, host, () => resolve())
    })
    this.server = server
    const addr = server.address()
    const actual = typeof addr === 'object' && addr !== null ? addr.port : port
    return `http://${host.includes(':') ? `[${host}]` : host}:${actual}/metrics`
  }

  async close(): Promise<void> {
    const s = this.server
    this.server = null
    if (s) await new Promise<void>((r) => s.close(() => r()))
  }

  private advance(key: string, labels: Record<string, string>, total: number): void {
    const id = `${key}|${JSON.stringify(labels)}`
    const before = this.exported.get(id) ?? 0
    const c = this.c[key]
    if (c && total > before) c.inc(labels, total - before)
    else if (c && before === 0) c.inc(labels, 0)
    this.exported.set(id, Math.max(before, total))
  }
}

/** `9464`, `:9464`, `0.0.0.0:9464`, `[::1]:9464` → host and port (default host 127.0.0.1). */
export function parseHostPort(s: string): { host: string; port: number } {
  const t = s.trim()
  const i = t.lastIndexOf(':')
  const hostPart = i < 0 ? '' : t.slice(0, i)
  const portPart = i < 0 ? t : t.slice(i + 1)
  const port = /^\d{1,5}$/.test(portPart) ? Number(portPart) : NaN
  if (!(port >= 0 && port <= 65535)) throw new ConfigError(`--exporter ${s}: expected PORT or HOST:PORT`, { hint: 'e.g. --exporter 9464 or --exporter 0.0.0.0:9464' })
  const host = hostPart.replace(/^\[(.*)\]$/, '$1')
  return { host: host === '' ? '127.0.0.1' : host, port }
}
