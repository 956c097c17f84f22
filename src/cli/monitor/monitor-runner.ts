import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { NodeClock } from '../../adapters/clock/node-clock.js'
import { PrometheusExporter } from '../../adapters/exporter/prometheus-exporter.js'
import { createMeters } from '../../adapters/meters/index.js'
import { tapMeter } from '../../adapters/meters/tap-meter.js'
import { PrometheusSeriesSource } from '../../adapters/monitor/prometheus-source.js'
import { DirectScrapeSource } from '../../adapters/monitor/scrape-source.js'
import { openStore } from '../../adapters/store/sqlite-store.js'
import type { MonitorConfig } from '../../core/config/monitor-schema.js'
import { ConfigError, ExitCode } from '../../core/errors.js'
import { parseAlertRule } from '../../core/monitor/alert-rule.js'
import type { MonitorSnapshot } from '../../core/monitor/monitor-snapshot.js'
import { resolveMapping } from '../../core/monitor/resolve-mapping.js'
import type { RunSummary } from '../../core/summary.js'
import { runMonitor } from '../../runtime/run-monitor.js'
import { newRunId } from '../bench/bench-runner.js'
import type { CliHost, OutputStream } from '../host.js'
import { defaultStorePath } from '../store-path.js'
import { VERSION } from '../version.js'

export interface MonitorRunResult {
  readonly summary: RunSummary
  readonly summaryPath: string
  readonly storePath: string
  readonly exporterUrl: string | null
  readonly exitCode: number
}

/** Wires the real adapters for `tokenwatt monitor` and runs the session to its end. */
export async function runMonitorFromConfig(
  config: MonitorConfig,
  host: CliHost,
  options: { readonly progress?: boolean; readonly onSnapshot?: (s: MonitorSnapshot) => void; readonly onExporter?: (url: string) => void } = {},
): Promise<MonitorRunResult> {
  const alerts = config.alerts.map(parseAlertRule)
  const mapping = resolveMapping(config)
  const clock = new NodeClock()
  const storePath = config.store ? resolve(host.cwd, config.store) : defaultStorePath(host.env)
  const store = openStore(storePath)
  const capacity = config.capacityFrom !== undefined ? readCapacity(store, config.capacityFrom) : null
  const source =
    config.source.type === 'prometheus'
      ? new PrometheusSeriesSource(config.source.url, config.source.selector, mapping, clock, config.scrapeTimeoutMs)
      : new DirectScrapeSource(config.source.urls, mapping, clock, config.scrapeTimeoutMs)
  const runId = newRunId(clock.wallMs())
  const exporter = config.exporter !== undefined ? new PrometheusExporter({ run_kind: 'monitor' }) : null
  const meters = createMeters(config.meters, { env: host.env, clock }).map((m) => (exporter ? tapMeter(m, (s, info) => exporter.observeSample(s, info)) : m))
  let exporterUrl: string | null = null
  const line = new MonitorLine(host.stderr, options.progress !== false)
  try {
    if (exporter && config.exporter !== undefined) {
      exporterUrl = await exporter.listen(config.exporter)
      options.onExporter?.(exporterUrl)
      if (options.progress !== false) host.stderr.write(`exporter: ${exporterUrl}\n`)
    }
    const result = await runMonitor(config, {
      clock,
      source,
      mapping,
      meters,
      store,
      events: { emit: (e) => (e.type === 'warning' || e.type === 'info' ? host.stderr.write(`${e.type === 'warning' ? 'warning: ' : ''}${e.message}\n`) : undefined) },
      signal: host.signal,
      runId,
      toolVersion: VERSION,
      configForRecord: config,
      capacity,
      alerts,
      onSnapshot: (s) => {
        exporter?.publish(s)
        line.draw(s)
        options.onSnapshot?.(s)
      },
    })
    const runDir = join(resolve(host.cwd, config.out), runId)
    mkdirSync(runDir, { recursive: true })
    const summaryPath = join(runDir, 'summary.json')
    writeFileSync(summaryPath, `${JSON.stringify(result.summary, null, 2)}\n`)
    return { summary: result.summary, summaryPath, storePath, exporterUrl, exitCode: ExitCode.Ok }
  } finally {
    await source.close().catch(() => undefined)
    await exporter?.close()
    store.close()
  }
}

function readCapacity(store: ReturnType<typeof openStore>, run: string): { runId: string; outputTokensPerS: number } {
  const id = store.resolveRunId(run)
  const s = store.getSummary(id)
  if (!s || !(s.throughput.outputTokensPerS > 0)) {
    throw new ConfigError(`--capacity-from ${run}: run ${id} has no measured output throughput`, { hint: 'name a finished bench (or sweep point) of the same system: tokenwatt runs' })
  }
  return { runId: id, outputTokensPerS: s.throughput.outputTokensPerS }
}

/** One plain line per scrape round on stderr: the 1-minute figures and the replicas' state. */
class MonitorLine {
  constructor(
    private readonly out: OutputStream,
    private readonly enabled: boolean,
  ) {}

  draw(s: MonitorSnapshot): void {
    if (!this.enabled) return
    const w = s.windows[0]
    if (!w) return
    const f = (v: number | null, d: number): string => (v === null ? 'n/a' : v.toFixed(d))
    const up = s.targets.filter((t) => t.up).length
    const firing = s.alerts.filter((a) => a.state === 'firing').map((a) => a.rule)
    this.out.write(
      `[${w.window}] ${f(w.outputTokensPerS, 1)} tok/s · ${f(w.powerW, 1)} W at ${w.boundary ?? 'n/a'} · ${f(w.outputTokensPerJoule, 3)} tok/J · ${f(w.joulesPerOutputToken, 4)} J/tok · $${f(w.usdPerMillionOutputTokens, 3)}/Mtok · idle ${(w.idleShare * 100).toFixed(0)}%${w.utilization !== null ? ` · ${(w.utilization * 100).toFixed(0)}% of capacity` : ''} · replicas ${up}/${s.targets.length} up${firing.length > 0 ? ` · FIRING: ${firing.join('; ')}` : ''}\n`,
    )
  }
}
