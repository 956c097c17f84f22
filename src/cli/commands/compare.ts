import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import Table from 'cli-table3'
import { InvalidArgumentError, Option, type Command } from 'commander'
import { renderCharts } from '../../adapters/charts/vega-svg.js'
import { compareRuns } from '../../core/compare/compare-runs.js'
import type { SloBounds } from '../../core/compare/run-evidence.js'
import { ConfigError } from '../../core/errors.js'
import { comparisonCells, compareChartSpecs, renderCompareHtml, renderCompareMarkdown, sloText, taskSloText } from '../../core/report/render-compare.js'
import { addCostOptions, type CostOptions } from '../cost-options.js'
import { resolveRunRef } from '../run-ref.js'
import type { CliContext } from '../cli-context.js'
import { loadStoredRun } from '../stored-run.js'
import { VERSION } from '../version.js'
import { openCliStore } from './runs.js'

interface CompareOptions extends CostOptions {
  readonly format: 'table' | 'md' | 'html' | 'json'
  readonly out?: string
  readonly store?: string
  readonly sloTtftMs?: number
  readonly sloTpotMs?: number
  readonly sloE2eMs?: number
  readonly sloTaskMs?: number
}

const ms = (flag: string) => (text: string): number => {
  const v = Number(text)
  if (!(v > 0)) throw new InvalidArgumentError(`${flag} must be a positive number of milliseconds`)
  return v
}

/**
 * `tokenwatt compare RUN RUN…`: the runs side by side at one SLO, the winner of each metric and
 * whether its margin exceeds the runs' uncertainty. Table, Markdown, HTML with charts, or JSON.
 */
export function registerCompare(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('compare')
    .description('Compare stored runs side by side at one SLO, with the winner per metric against the uncertainty')
    .argument('<runs...>', 'two or more run ids, prefixes, latest, or a sweep (its chosen point)')
    .addOption(new Option('--format <fmt>', 'output format').choices(['table', 'md', 'html', 'json']).default('table'))
    .option('-o, --out <file>', 'write to a file (html default: compare.html)')
    .option('--slo-ttft-ms <ms>', 'judge every run at this TTFT bound', ms('--slo-ttft-ms'))
    .option('--slo-tpot-ms <ms>', 'judge every run at this TPOT bound', ms('--slo-tpot-ms'))
    .option('--slo-e2e-ms <ms>', 'judge every run at this end-to-end bound', ms('--slo-e2e-ms'))
    .option('--slo-task-ms <ms>', 'session runs: judge every task at this bound on the whole task (first send to last token)', ms('--slo-task-ms'))
    .option('--store <file>', 'results store')
  addCostOptions(cmd)
  cmd.action(async (ids: string[], opts: CompareOptions) => {
    if (ids.length < 2) throw new ConfigError('compare needs at least two runs', { hint: 'tokenwatt runs list shows the stored runs' })
    const { store } = openCliStore(ctx, opts.store)
    let runs
    try {
      runs = ids.map((id) => loadStoredRun(store, resolveRunRef(id, ctx.host.cwd), opts))
    } finally {
      store.close()
    }
    const slo: SloBounds = { ...(opts.sloTtftMs !== undefined ? { ttftMs: opts.sloTtftMs } : {}), ...(opts.sloTpotMs !== undefined ? { tpotMs: opts.sloTpotMs } : {}), ...(opts.sloE2eMs !== undefined ? { e2eMs: opts.sloE2eMs } : {}) }
    const comparison = compareRuns(runs.map((r) => ({ summary: r.summary, requests: r.requests, cost: r.cost })), { slo, taskLatencyMs: opts.sloTaskMs ?? null })
    let text: string
    if (opts.format === 'json') text = `${JSON.stringify(comparison, null, 2)}\n`
    else if (opts.format === 'md') text = renderCompareMarkdown(comparison)
    else if (opts.format === 'html') text = renderCompareHtml(comparison, await renderCharts(compareChartSpecs(comparison)), VERSION)
    else {
      // Terminals are narrow: runs are #1, #2… in the table and named underneath.
      const t = comparisonCells(comparison)
      const table = new Table({ head: ['metric', ...comparison.runs.map((_, i) => `#${i + 1}`), 'winner (margin vs noise)'], style: { head: [], border: [] } })
      for (const r of t.rows) table.push(r)
      const legend = comparison.runs.map((r, i) => `#${i + 1} ${r.label}${r.server ? ` (${r.server})` : ''}\n`).join('')
      text = `${table.toString()}\n${legend}SLO for every run: ${sloText(comparison.slo.bounds)} (${comparison.slo.source}); ± = 95 % interval\n${taskSloText(comparison) !== null ? `${taskSloText(comparison) as string}\n` : ''}${comparison.warnings.map((w) => `warning: ${w}\n`).join('')}`
    }
    const out = opts.out ?? (opts.format === 'html' ? 'compare.html' : undefined)
    if (out === undefined || out === '-') return void ctx.host.stdout.write(text)
    const path = resolve(ctx.host.cwd, out)
    writeFileSync(path, text)
    ctx.host.stderr.write(`comparison: ${path}\n`)
  })
}
