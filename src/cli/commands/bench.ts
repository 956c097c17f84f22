import { Command } from 'commander'
import { PrometheusExporter } from '../../adapters/exporter/prometheus-exporter.js'
import { BenchConfigSchema, type BenchConfig } from '../../core/config/bench-schema.js'
import { ConfigError } from '../../core/errors.js'
import { addBenchOptions, benchFlagsToConfig } from '../bench/bench-options.js'
import { runBenchFromConfig } from '../bench/bench-runner.js'
import { readConfigFile, resolveConfig, type ConfigFile } from '../config/load-config.js'
import { addCostOptions, costOptionsToConfig } from '../cost-options.js'
import { addMeterOptions, meterOptionsToConfig } from '../meter-options.js'
import type { CliContext } from '../cli-context.js'
import { renderSummary } from '../render-summary.js'
import { startBenchDashboard } from '../../dashboard/bench-dashboard.js'

const CONFIG_HINT = 'see `tokenwatt bench --help` and docs/config.md for every key'

/** Reads -c FILE and the flags into one validated config (flags win over the file). */
export function benchConfigFrom(opts: Record<string, unknown>, cmd: Command, ctx: CliContext, extraLayers: Record<string, unknown>[] = [], fileOverride?: ConfigFile | null): BenchConfig {
  const file = fileOverride !== undefined ? fileOverride : typeof opts.config === 'string' ? readConfigFile(opts.config, ctx.host.cwd) : null
  const cost = costOptionsToConfig(opts)
  const flags: Record<string, unknown> = { ...benchFlagsToConfig(opts, cmd), ...(meterOptionsToConfig(opts) as Record<string, unknown>), ...(cost !== undefined ? { cost } : {}) }
  if (opts.concurrency !== undefined && opts.rate !== undefined) {
    throw new ConfigError('--concurrency and --rate cannot be combined', { hint: 'use --concurrency N for a closed loop, or --rate R [--arrival poisson] for an open loop' })
  }
  // A load type given by flags replaces the file's load section rather than merging into it.
  const fileData = file ? { ...(file.data as Record<string, unknown>) } : null
  const flagLoad = flags.load as Record<string, unknown> | undefined
  const fileLoad = fileData?.load as Record<string, unknown> | undefined
  if (fileData && flagLoad?.type !== undefined && fileLoad?.type !== flagLoad.type) delete fileData.load
  let merged: Record<string, unknown> = flags
  for (const layer of extraLayers) merged = { ...merged, ...layer }
  return resolveConfig(BenchConfigSchema, file ? { ...file, data: fileData } : null, merged, CONFIG_HINT)
}

export function registerBench(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('bench')
    .description('Benchmark an OpenAI-compatible endpoint (or the embedded engine) and store the run')
    .option('-c, --config <file>', 'YAML config file (flags override it)')
    .option('--json', 'print summary.json to stdout instead of the table')
    .option('--no-progress', 'no live progress line')
    .option('--exporter <[host:]port>', "serve the run's live series (power, requests, tokens) and final figures on /metrics for Prometheus (default host 127.0.0.1)")
    .option('--dashboard [[host:]port]', 'serve the web dashboard (live view of this run) while it runs; default 127.0.0.1:8787')
  addBenchOptions(cmd)
  addMeterOptions(cmd)
  addCostOptions(cmd)
  cmd.action(async (opts: Record<string, unknown>, command: Command) => {
    const config = benchConfigFrom(opts, command, ctx)
    const exporter = typeof opts.exporter === 'string' ? new PrometheusExporter({ run_kind: 'bench' }) : null
    if (exporter) ctx.host.stderr.write(`exporter: ${await exporter.listen(opts.exporter as string)}\n`)
    const dashboard = opts.dashboard !== undefined ? await startBenchDashboard(opts.dashboard, config, ctx.host) : null
    let result
    try {
      result = await runBenchFromConfig(config, ctx.host, {
        progress: opts.progress !== false,
        ...(exporter ? { events: { emit: (e) => e.type === 'request' && exporter.observeRequest(e.record) }, onSample: (s, info) => exporter.observeSample(s, info) } : {}),
      })
      exporter?.publishSummary(result.summary)
    } finally {
      await exporter?.close()
      await dashboard?.close()
    }
    const out = ctx.host.stdout
    if (opts.json === true) out.write(`${JSON.stringify(result.summary, null, 2)}\n`)
    else {
      out.write(renderSummary(result.summary, out.columns ?? 100))
      out.write(`summary: ${result.summaryPath}\nreport:  ${result.reportPath}\nstore:   ${result.storePath} (run ${result.summary.id})\n`)
    }
    ctx.exitCode = result.exitCode
  })
}
