import type { Command } from 'commander'
import { MonitorConfigSchema, type MonitorConfig } from '../../core/config/monitor-schema.js'
import { ConfigError } from '../../core/errors.js'
import type { CliContext } from '../cli-context.js'
import { readConfigFile, resolveConfig } from '../config/load-config.js'
import { addMeterOptions, meterOptionsToConfig } from '../meter-options.js'
import { addMonitorOptions, monitorFlagsToConfig } from '../monitor/monitor-options.js'
import { runMonitorFromConfig } from '../monitor/monitor-runner.js'
import { renderSummary } from '../render-summary.js'
import { startBenchDashboard } from '../../dashboard/bench-dashboard.js'

const CONFIG_HINT = 'see `tokenwatt monitor --help`: --server-metrics URL[,URL…] or --prometheus URL, --preset vllm|sglang|tgi|llamacpp|dynamo|custom'

/** Reads -c FILE and the flags into one validated monitor config (flags win over the file). */
export function monitorConfigFrom(opts: Record<string, unknown>, ctx: CliContext): MonitorConfig {
  if (opts.serverMetrics !== undefined && opts.prometheus !== undefined) {
    throw new ConfigError('--server-metrics and --prometheus cannot be combined', { hint: 'scrape the replicas directly, or read them through the Prometheus that scrapes them' })
  }
  const file = typeof opts.config === 'string' ? readConfigFile(opts.config, ctx.host.cwd) : null
  const flags = { ...monitorFlagsToConfig(opts), ...(meterOptionsToConfig(opts) as Record<string, unknown>) }
  if (!file && flags.source === undefined) throw new ConfigError('no servers to watch', { hint: 'pass --server-metrics URL[,URL…] or --prometheus URL' })
  return resolveConfig(MonitorConfigSchema, file, flags, CONFIG_HINT)
}

export function registerMonitor(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('monitor')
    .description("Watch production traffic: tokens per joule and $/Mtok from the servers' own counters and the power meters, no synthetic load")
  addMonitorOptions(cmd)
  addMeterOptions(cmd)
  cmd.option('--dashboard [[host:]port]', 'serve the web dashboard (this session\'s live view) while it runs; default 127.0.0.1:8787')
  cmd.action(async (opts: Record<string, unknown>) => {
    const config = monitorConfigFrom(opts, ctx)
    const dashboard = opts.dashboard !== undefined ? await startBenchDashboard(opts.dashboard, config, ctx.host) : null
    let result
    try {
      result = await runMonitorFromConfig(config, ctx.host, { progress: opts.progress !== false })
    } finally {
      await dashboard?.close()
    }
    const out = ctx.host.stdout
    if (opts.json === true) out.write(`${JSON.stringify(result.summary, null, 2)}\n`)
    else {
      out.write(renderSummary(result.summary, out.columns ?? 100))
      out.write(`summary: ${result.summaryPath}\nstore:   ${result.storePath} (run ${result.summary.id})\n`)
    }
    ctx.exitCode = result.exitCode
  })
}
