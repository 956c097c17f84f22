import { writeFileSync } from 'node:fs'
import Table from 'cli-table3'
import { resolve } from 'node:path'
import { InvalidArgumentError, Option, type Command } from 'commander'
import { ConfigError, NotFoundError } from '../../core/errors.js'
import { addCostOptions, type CostOptions } from '../cost-options.js'
import type { CliContext } from '../cli-context.js'
import { REPORT_EXTENSIONS, REPORT_FORMATS, renderReport, reportModelOf, type ReportFormat } from '../report-render.js'
import { costConfigFor } from '../run-cost.js'
import { openCliStore } from './runs.js'

interface ReportOptions extends CostOptions {
  readonly format: ReportFormat
  readonly out?: string
  readonly store?: string
  readonly table: 'requests' | 'power'
  readonly priceSheet?: boolean
  readonly priceInput?: number
  readonly priceOutput?: number
}

const usd = (flag: string) => (text: string): number => {
  const v = Number(text)
  if (!(v >= 0) || !Number.isFinite(v)) throw new InvalidArgumentError(`${flag} must be a non-negative number of USD per million tokens`)
  return v
}

/**
 * `tokenwatt report RUN`: the run as a self-contained HTML page with charts (default, written to
 * RUN.html), Markdown for a pull request, the report model as JSON, or the raw records as CSV or
 * Parquet for notebooks. Cost flags re-price the run without re-running it.
 */
export function registerReport(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('report')
    .description('Render a stored run: HTML with charts, Markdown, JSON, or raw records as CSV/Parquet')
    .argument('<run>', 'run id, unique id prefix, or latest')
    .addOption(new Option('--format <fmt>', 'output format').choices(REPORT_FORMATS).default('html'))
    .option('-o, --out <file>', 'output file ("-" for stdout); default: RUN.html / RUN.parquet, stdout for md, json, csv')
    .addOption(new Option('--table <records>', 'csv/parquet: which raw records').choices(['requests', 'power']).default('requests'))
    .option('--store <file>', 'results store')
    .option('--price-sheet', 'print the price sheet: the input and output $/Mtok that recover the run\'s full cost, split by the phases\' energy and time shares')
    .option('--price-input <usd>', 'your current price per million input tokens (the price sheet shows its margin)', usd('--price-input'))
    .option('--price-output <usd>', 'your current price per million output tokens (the price sheet shows its margin)', usd('--price-output'))
  addCostOptions(cmd)
  cmd.action(async (run: string, opts: ReportOptions) => {
    const { store } = openCliStore(ctx, opts.store)
    let id: string
    let input
    try {
      id = store.resolveRunId(run)
      const summary = store.getSummary(id)
      if (!summary) throw new NotFoundError(`run ${id} has no summary: it did not finish`, { hint: `its raw records can still be exported: tokenwatt runs export ${id}` })
      const cost = costConfigFor(summary, opts)
      const prices = { ...(opts.priceInput !== undefined ? { inputUsdPerMtok: opts.priceInput } : {}), ...(opts.priceOutput !== undefined ? { outputUsdPerMtok: opts.priceOutput } : {}) }
      input = { summary, requests: store.getRequests(id), powerSamples: store.getPowerSamples(id), table: opts.table, prices, ...(cost ? { cost } : {}) }
    } finally {
      store.close()
    }
    if (opts.priceSheet) return void ctx.host.stdout.write(renderPriceSheet(reportModelOf(input), opts.format === 'json'))
    const content = await renderReport(opts.format, input)
    const binary = typeof content !== 'string'
    const toFile = opts.out !== undefined ? opts.out !== '-' : opts.format === 'html' || opts.format === 'parquet'
    if (!toFile) {
      if (binary) throw new ConfigError('Parquet is binary and goes to a file, not stdout', { hint: 'pass --out FILE.parquet' })
      ctx.host.stdout.write(content)
      return
    }
    const name = opts.out !== undefined && opts.out !== '-' ? opts.out : `${id}${opts.table === 'power' && binary ? '-power' : ''}.${REPORT_EXTENSIONS[opts.format]}`
    const path = resolve(ctx.host.cwd, name)
    writeFileSync(path, content)
    ctx.host.stderr.write(`report: ${path}\n`)
  })
}

/** The run's energy-by-phase and price-sheet tables as terminal text (or JSON), or why there are none. */
function renderPriceSheet(model: ReturnType<typeof reportModelOf>, json: boolean): string {
  const tables = model.tables.filter((t) => t.id === 'phases' || t.id === 'price-sheet')
  if (!tables.some((t) => t.id === 'phases'))
    throw new ConfigError('this run has no energy by phase, so no price sheet', { hint: 'the run needs a power meter (--meter) and stored request records; rerun with --meter and --idle-s' })
  if (!tables.some((t) => t.id === 'price-sheet'))
    throw new ConfigError('this run has no complete cost model, so no price sheet', { hint: 'pass cost flags, e.g. --usd-per-accelerator-hour 2.5 --accelerators 8 (or --preset h100 with ownership costs)' })
  if (json) return `${JSON.stringify(tables, null, 2)}\n`
  return tables
    .map((t) => {
      const table = new Table({ head: [...t.columns], style: { head: [], border: [] }, wordWrap: true, colWidths: t.columns.map((_, i) => (i === 0 ? 30 : 26)) })
      for (const r of t.rows) table.push([...r])
      return `${t.title}\n${table.toString()}\n${t.caption}\n`
    })
    .join('\n')
}
