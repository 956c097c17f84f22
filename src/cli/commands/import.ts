import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { Option, type Command } from 'commander'
import { readPowerLogHistory } from '../../adapters/meters/file/power-log-history.js'
import { finishSummary } from '../../core/analysis/finish-summary.js'
import { BenchConfigSchema } from '../../core/config/bench-schema.js'
import { ConfigError, NotFoundError } from '../../core/errors.js'
import { IMPORT_FORMATS, type ImportedRun } from '../../core/import/imported-run.js'
import { importedSummary } from '../../core/import/imported-summary.js'
import { parseVllmResult } from '../../core/import/vllm.js'
import { parseAiperfJsonl } from '../../core/import/aiperf.js'
import type { MeterInfo } from '../../core/ports.js'
import type { PowerSample } from '../../core/records.js'
import { newRunId } from '../bench/bench-runner.js'
import type { CliContext } from '../cli-context.js'
import { resolveConfig } from '../config/load-config.js'
import { addCostOptions, costOptionsToConfig } from '../cost-options.js'
import { renderReport } from '../report-render.js'
import { renderSummary } from '../render-summary.js'
import { VERSION } from '../version.js'
import { openCliStore } from './runs.js'

function readText(ctx: CliContext, path: string, what: string): string {
  try {
    return readFileSync(resolve(ctx.host.cwd, path), 'utf8')
  } catch (e) {
    throw new NotFoundError(`${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { hint: 'check the path' })
  }
}

export function registerImport(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('import')
    .description("Import another tool's benchmark result as a stored run, with power from a log over the same span")
    .argument('<format>', `result format: ${IMPORT_FORMATS.join(' | ')}`)
    .argument('<file>', 'the result file the tool wrote')
    .option('--power <file>', 'power log (CSV/JSONL, epoch or ISO times) covering the run')
    .addOption(new Option('--boundary <boundary>', 'boundary the power log measures').choices(['device', 'node', 'rack', 'cluster', 'facility']).default('device'))
    .option('--start <iso>', "the run's start time, when the file's own clock is not trusted (vLLM: local time)")
    .option('--store <file>', 'results store')
    .option('--out <dir>', 'write <dir>/<run-id>/summary.json and report.html', 'tokenwatt-results')
    .option('--json', 'print summary.json')
  addCostOptions(cmd)
  cmd.action(async (format: string, file: string, opts: Record<string, unknown>) => {
    if (!(IMPORT_FORMATS as readonly string[]).includes(format)) throw new ConfigError(`import: unknown format ${JSON.stringify(format)}`, { hint: `supported: ${IMPORT_FORMATS.join(', ')}` })
    let startWallMs: number | undefined
    if (typeof opts.start === 'string') {
      startWallMs = Date.parse(opts.start)
      if (!Number.isFinite(startWallMs)) throw new ConfigError(`--start: not an ISO 8601 time: ${opts.start}`, { hint: 'e.g. 2026-12-05T10:00:00Z' })
    }
    const text = readText(ctx, file, 'result file')
    const run: ImportedRun =
      format === 'aiperf' ? parseAiperfJsonl(text, basename(file)) : parseVllmResult(text, { fileName: basename(file), ...(startWallMs !== undefined ? { startWallMs } : {}) })
    const boundary = opts.boundary as 'device' | 'node' | 'rack' | 'cluster' | 'facility'
    const cost = costOptionsToConfig(opts)
    const config = resolveConfig(BenchConfigSchema, null, { boundary, stop: { durationS: run.durationS }, ...(cost !== undefined ? { cost } : {}) }, 'see `tokenwatt import --help`')
    const id = newRunId(Date.now())
    let samples: PowerSample[] = []
    let meters: MeterInfo[] = []
    const extra: string[] = []
    if (typeof opts.power === 'string') {
      const h = readPowerLogHistory(readText(ctx, opts.power, 'power log'), { path: opts.power, boundary, epochWallMs: run.startWallMs })
      samples = h.samples
      meters = [h.info]
      if (h.badLines > 0) extra.push(`${h.badLines} unreadable line(s) in ${opts.power} were skipped`)
    }
    const base = importedSummary({ run, id, toolVersion: VERSION, config, file: basename(file) })
    const summary = finishSummary({ ...base, warnings: [...base.warnings, ...extra] }, { config, samples, meters, idleWindowNs: null, epochWallMs: run.startWallMs })
    const { store, path: storePath } = openCliStore(ctx, opts.store)
    try {
      store.createRun({ id, startedAt: summary.startedAt, epochWallMs: run.startWallMs, toolVersion: VERSION, config, target: summary.target, labels: { kind: 'imported', 'import.tool': run.tool.name, 'import.file': basename(file) }, meters })
      if (samples.length > 0) store.appendPowerSamples(id, samples)
      store.finishRun(id, 'complete', summary)
    } finally {
      store.close()
    }
    const runDir = join(resolve(ctx.host.cwd, opts.out as string), id)
    mkdirSync(runDir, { recursive: true })
    const summaryPath = join(runDir, 'summary.json')
    writeFileSync(summaryPath, `${JSON.stringify(summary, null, 2)}\n`)
    const reportPath = join(runDir, 'report.html')
    writeFileSync(reportPath, await renderReport('html', { summary, requests: [], powerSamples: samples }))
    const out = ctx.host.stdout
    if (opts.json === true) return void out.write(`${JSON.stringify(summary, null, 2)}\n`)
    out.write(renderSummary(summary, out.columns ?? 100))
    const cov = summary.power?.coverage
    out.write(`power coverage of the run span: ${cov === null || cov === undefined ? 'none (no power given)' : `${(cov * 100).toFixed(1)} %`}\n`)
    out.write(`summary: ${summaryPath}\nreport:  ${reportPath}\nstore:   ${storePath} (run ${id})\n`)
  })
}
