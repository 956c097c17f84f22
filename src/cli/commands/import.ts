import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { Option, type Command } from 'commander'
import { NodeClock } from '../../adapters/clock/node-clock.js'
import { readPowerLogHistory } from '../../adapters/meters/file/power-log-history.js'
import { PrometheusPowerMeter } from '../../adapters/meters/prometheus/prometheus-meter.js'
import { finishSummary } from '../../core/analysis/finish-summary.js'
import { BenchConfigSchema } from '../../core/config/bench-schema.js'
import type { PrometheusMeterOptions } from '../../core/config/meters-remote-schema.js'
import { parseMeterFlag } from '../../core/config/meters-schema.js'
import { ConfigError, NotFoundError } from '../../core/errors.js'
import { IMPORT_FORMATS, type ImportedRun, type ImportFormat } from '../../core/import/imported-run.js'
import { importedSummary } from '../../core/import/imported-summary.js'
import { parseImport, SUPPORTED_VERSIONS } from '../../core/import/parse-import.js'
import type { MeterInfo } from '../../core/ports.js'
import type { PowerSample } from '../../core/records.js'
import { newRunId } from '../bench/bench-runner.js'
import type { CliContext } from '../cli-context.js'
import { collect } from '../parse-args.js'
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

/** Power over one imported run's span: from a log, from Prometheus history, or the tool's own. */
async function powerFor(ctx: CliContext, run: ImportedRun, opts: Record<string, unknown>, boundary: string, prometheus: readonly PrometheusMeterOptions[]): Promise<{ samples: PowerSample[]; meters: MeterInfo[]; notes: string[] }> {
  const samples: PowerSample[] = []
  const meters: MeterInfo[] = []
  const notes: string[] = []
  const spanEndMs = run.startWallMs + run.durationS * 1000
  if (typeof opts.power === 'string') {
    const h = readPowerLogHistory(readText(ctx, opts.power, 'power log'), { path: opts.power, boundary: boundary as 'device', epochWallMs: run.startWallMs })
    samples.push(...h.samples)
    meters.push(h.info)
    if (h.badLines > 0) notes.push(`${h.badLines} unreadable line(s) in ${opts.power} were skipped`)
  }
  for (const [i, spec] of prometheus.entries()) {
    const meter = new PrometheusPowerMeter(spec, { clock: new NodeClock(), env: ctx.host.env, ...(prometheus.length > 1 ? { id: `prometheus-${i}` } : {}) })
    const got = await meter.history(run.startWallMs, spanEndMs, run.startWallMs)
    samples.push(...got)
    meters.push(meter.info)
    notes.push(`${meter.info.description}: ${got.length} reading(s) around the run's span; times are the Prometheus server's scrape times (its clock and the benchmark host's are taken to agree)`)
  }
  if (run.power !== null) {
    if (meters.length > 0) {
      const e = run.power.samples.at(-1)?.energyJ
      notes.push(`the ${run.tool.name} file's own power measurement${e !== null && e !== undefined ? ` (${e.toFixed(1)} J)` : ''} was not used: the power you gave is`)
    } else {
      samples.push(...run.power.samples)
      meters.push(run.power.info)
    }
  }
  return { samples, meters, notes }
}

export function registerImport(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('import')
    .description("Import another tool's benchmark result as a stored run, with power from a log or Prometheus over the same span")
    .argument('<format>', `result format: ${IMPORT_FORMATS.join(' | ')}`)
    .argument('<file>', 'the result file the tool wrote')
    .option('--power <file>', 'power log (CSV/JSONL, epoch or ISO times) covering the run')
    .addOption(new Option('--meter <prometheus:[preset@]url>', "Prometheus history over the run's span (repeatable), e.g. prometheus:dcgm@http://prom:9090").argParser(collect))
    .addOption(new Option('--boundary <boundary>', 'boundary the power log measures').choices(['device', 'node', 'rack', 'cluster', 'facility']).default('device'))
    .option('--start <iso>', "the run's start time (vllm: when the file's local-time clock is not trusted; inferencex: the aggregate keeps none)")
    .option('--store <file>', 'results store')
    .option('--out <dir>', 'write <dir>/<run-id>/summary.json and report.html', 'tokenwatt-results')
    .option('--json', 'print summary.json (a JSON array when the file holds several benchmarks)')
    .addHelpText('after', `\nFormats and the result versions each reader knows:\n${supportedVersionsText()}\n`)
  addCostOptions(cmd)
  cmd.action(async (formatArg: string, file: string, opts: Record<string, unknown>) => {
    if (!(IMPORT_FORMATS as readonly string[]).includes(formatArg)) throw new ConfigError(`import: unknown format ${JSON.stringify(formatArg)}`, { hint: `supported: ${IMPORT_FORMATS.join(', ')}` })
    const format = formatArg as ImportFormat
    let startWallMs: number | undefined
    if (typeof opts.start === 'string') {
      if (format !== 'vllm' && format !== 'inferencex') throw new ConfigError(`--start: ${format} files carry their own epoch timestamps`, { hint: '--start applies to vllm and inferencex results' })
      startWallMs = Date.parse(opts.start)
      if (!Number.isFinite(startWallMs)) throw new ConfigError(`--start: not an ISO 8601 time: ${opts.start}`, { hint: 'e.g. 2026-12-05T10:00:00Z' })
    }
    const meterFlags = Array.isArray(opts.meter) ? (opts.meter as string[]) : []
    for (const m of meterFlags) if (!m.trim().startsWith('prometheus:')) throw new ConfigError(`--meter ${m}: import reads past power from Prometheus only`, { hint: 'give --meter prometheus:[preset@]URL, or a recorded log with --power FILE' })
    const text = readText(ctx, file, 'result file')
    const runs = parseImport(format, text, { fileName: basename(file), ...(startWallMs !== undefined ? { startWallMs } : {}) })
    const boundary = opts.boundary as 'device' | 'node' | 'rack' | 'cluster' | 'facility'
    const cost = costOptionsToConfig(opts)
    const { store, path: storePath } = openCliStore(ctx, opts.store)
    const done: { summary: ReturnType<typeof finishSummary>; summaryPath: string; reportPath: string }[] = []
    try {
      for (const run of runs) {
        if (!run.spanKnown && (typeof opts.power === 'string' || meterFlags.length > 0)) {
          throw new ConfigError(`${basename(file)}: the ${run.tool.name} file records no wall-clock time, so a power log or Prometheus range cannot be placed on it`, { hint: 'give the run start with --start ISO-TIME' })
        }
        const config = resolveConfig(
          BenchConfigSchema,
          null,
          { boundary, stop: { durationS: run.durationS }, ...(meterFlags.length > 0 ? { meters: meterFlags.map(parseMeterFlag) } : {}), ...(cost !== undefined ? { cost } : {}) },
          'see `tokenwatt import --help`',
        )
        const prometheus = config.meters.filter((m): m is PrometheusMeterOptions => m.kind === 'prometheus')
        const id = newRunId(Date.now())
        const { samples, meters, notes } = await powerFor(ctx, run, opts, boundary, prometheus)
        const base = importedSummary({ run, id, toolVersion: VERSION, config, file: basename(file) })
        const summary = finishSummary({ ...base, warnings: [...base.warnings, ...notes] }, { config, samples, meters, idleWindowNs: null, epochWallMs: run.startWallMs })
        store.createRun({
          id,
          startedAt: summary.startedAt,
          epochWallMs: run.startWallMs,
          toolVersion: VERSION,
          config,
          target: summary.target,
          labels: { kind: 'imported', 'import.tool': run.tool.name, 'import.file': basename(file), ...(run.benchmark !== null ? { 'import.benchmark': run.benchmark } : {}) },
          meters,
        })
        if (run.records.length > 0) store.appendRequests(id, run.records)
        if (samples.length > 0) store.appendPowerSamples(id, samples)
        store.finishRun(id, 'complete', summary)
        const runDir = join(resolve(ctx.host.cwd, opts.out as string), id)
        mkdirSync(runDir, { recursive: true })
        const summaryPath = join(runDir, 'summary.json')
        writeFileSync(summaryPath, `${JSON.stringify(summary, null, 2)}\n`)
        const reportPath = join(runDir, 'report.html')
        writeFileSync(reportPath, await renderReport('html', { summary, requests: run.records, powerSamples: samples }))
        done.push({ summary, summaryPath, reportPath })
      }
    } finally {
      store.close()
    }
    const out = ctx.host.stdout
    if (opts.json === true) {
      const docs = done.map((d) => d.summary)
      return void out.write(`${JSON.stringify(docs.length === 1 ? docs[0] : docs, null, 2)}\n`)
    }
    for (const d of done) {
      const s = d.summary
      if (s.provenance?.benchmark !== undefined) out.write(`\n${s.provenance.benchmark} of ${basename(file)}\n`)
      out.write(renderSummary(s, out.columns ?? 100))
      const cov = s.power?.coverage
      out.write(`power coverage of the run span: ${cov === null || cov === undefined ? 'none (no power given)' : `${(cov * 100).toFixed(1)} %`}\n`)
      if ((s.provenance?.unavailable ?? []).length > 0) out.write(`not in the file: ${(s.provenance?.unavailable ?? []).join('; ')}\n`)
      out.write(`summary: ${d.summaryPath}\nreport:  ${d.reportPath}\nstore:   ${storePath} (run ${s.id})\n`)
    }
  })
}

/** The versions each format's reader knows, one line per format (for errors and docs). */
function supportedVersionsText(): string {
  return IMPORT_FORMATS.map((f) => `${f}: ${SUPPORTED_VERSIONS[f].join('; ')}`).join('\n')
}
