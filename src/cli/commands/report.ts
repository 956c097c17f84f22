import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { Option, type Command } from 'commander'
import { ConfigError, NotFoundError } from '../../core/errors.js'
import { addCostOptions, type CostOptions } from '../cost-options.js'
import type { CliContext } from '../cli-context.js'
import { REPORT_EXTENSIONS, REPORT_FORMATS, renderReport, type ReportFormat } from '../report-render.js'
import { costConfigFor } from '../run-cost.js'
import { openCliStore } from './runs.js'

interface ReportOptions extends CostOptions {
  readonly format: ReportFormat
  readonly out?: string
  readonly store?: string
  readonly table: 'requests' | 'power'
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
      input = { summary, requests: store.getRequests(id), powerSamples: store.getPowerSamples(id), table: opts.table, ...(cost ? { cost } : {}) }
    } finally {
      store.close()
    }
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
