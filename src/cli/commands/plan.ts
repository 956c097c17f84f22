import Table from 'cli-table3'
import { InvalidArgumentError, Option, type Command } from 'commander'
import { planSite, type PlanScenario, type SitePlan } from '../../core/economics/site-plan.js'
import { escapeMarkdown as m } from '../../core/report/escape.js'
import { formatCount, formatNumber, formatPercent, formatSi, formatUsd } from '../../core/report/format.js'
import { addCostOptions, type CostOptions } from '../cost-options.js'
import { resolveRunRef } from '../run-ref.js'
import type { CliContext } from '../cli-context.js'
import { costConfigFor } from '../run-cost.js'
import { loadStoredRun } from '../stored-run.js'
import { openCliStore } from './runs.js'

interface PlanOptions extends CostOptions {
  readonly siteMw: number
  readonly from: string
  readonly powerCapW?: number
  readonly acceleratorsPerRack?: number
  readonly priceUsdPerMtok?: number
  readonly inputPriceUsdPerMtok?: number
  readonly whatIfPue?: number[]
  readonly whatIfPowerCapW?: number[]
  readonly whatIfUtilization?: number[]
  readonly format: 'table' | 'md' | 'json'
  readonly store?: string
}

const positive = (flag: string) => (text: string): number => {
  const v = Number(text)
  if (!(v > 0) || !Number.isFinite(v)) throw new InvalidArgumentError(`${flag} must be a positive number`)
  return v
}
const list = (flag: string) => (text: string): number[] => text.split(',').map((x) => positive(flag)(x.trim()))

const HEADER = ['scenario', 'PUE', 'cap W', 'utilisation', 'kW/accel. (facility)', 'accelerators', 'racks', 'output tokens/day', '$/M output', 'cost/day', 'revenue/day', 'margin/day']

const TASK_HEADER = ['tasks/day', 'good tasks/day', '$/task']
const PHASE_HEADER = ['break-even $/M in', 'break-even $/M out', 'revenue/site MW/day']

function phaseCells(s: PlanScenario): string[] {
  return [formatUsd(s.breakEvenUsdPerMtok?.input ?? null), formatUsd(s.breakEvenUsdPerMtok?.output ?? null), formatUsd(s.revenueUsdPerSiteMwDay)]
}

function taskCells(s: PlanScenario): string[] {
  return [s.tasksPerDay !== null ? formatSi(s.tasksPerDay) : '—', s.goodTasksPerDay !== null ? formatSi(s.goodTasksPerDay) : '—', formatUsd(s.usdPerTask)]
}

function row(s: PlanScenario, tasks: boolean, phases: boolean): string[] {
  return [
    s.name,
    formatNumber(s.pue),
    s.powerCapW !== null ? formatCount(s.powerCapW) : '—',
    formatPercent(s.utilization),
    formatNumber(s.facilityKwPerAccelerator),
    formatCount(s.accelerators),
    s.racks !== null ? formatCount(s.racks) : '—',
    formatSi(s.outputTokensPerDay),
    formatUsd(s.usdPerMillionOutputTokens),
    formatUsd(s.costUsdPerDay),
    formatUsd(s.revenueUsdPerDay),
    formatUsd(s.marginUsdPerDay),
    ...(tasks ? taskCells(s) : []),
    ...(phases ? phaseCells(s) : []),
  ]
}

function intro(p: SitePlan, runId: string): string {
  const b = p.baseline
  return [
    `Site: ${formatNumber(p.siteMw)} MW of facility power; throughput per accelerator from run ${runId}: ${formatNumber(p.outputTokensPerSPerAccelerator)} output tok/s (${p.acceleratorsInRun} accelerator(s) in the run).`,
    `Baseline: ${formatCount(b.accelerators)} accelerators${b.racks !== null ? ` in ${formatCount(b.racks)} racks of ${formatNumber(b.rackKw)} kW` : ''}, ${formatPercent(b.siteUsed)} of the site provisioned; ` +
      `average draw ${b.averageDrawMw !== null ? `${formatNumber(b.averageDrawMw)} MW` : 'n/a (no measured power)'}; ${formatSi(b.outputTokensPerSPerSiteMw)} output tok/s per site MW.`,
  ].join('\n')
}

/**
 * `tokenwatt plan --site-mw N --from RUN`: accelerators and racks that fit the site's power at the
 * run's measured throughput, tokens per day, $/Mtok and revenue, with what-ifs on PUE, power cap
 * and utilisation.
 */
export function registerPlan(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('plan')
    .description('Plan a site from a measured run: accelerators and racks that fit its power, tokens/day, $/Mtok, revenue; what-ifs')
    .requiredOption('--site-mw <mw>', 'facility (utility) power available, MW', positive('--site-mw'))
    .requiredOption('--from <run>', 'run id, prefix, latest, or a sweep (its chosen point)')
    .option('--power-cap-w <w>', 'accelerator power cap for the plan (replaces its nameplate in provisioned power)', positive('--power-cap-w'))
    .option('--accelerators-per-rack <n>', 'accelerators per rack (default: the preset\'s)', positive('--accelerators-per-rack'))
    .option('--price-usd-per-mtok <usd>', 'selling price per million output tokens (revenue)', positive('--price-usd-per-mtok'))
    .option('--input-price-usd-per-mtok <usd>', 'selling price per million input tokens', positive('--input-price-usd-per-mtok'))
    .option('--what-if-pue <list>', 'comma-separated PUE values to try', list('--what-if-pue'))
    .option('--what-if-power-cap-w <list>', 'comma-separated power caps (W) to try', list('--what-if-power-cap-w'))
    .option('--what-if-utilization <list>', 'comma-separated utilisation shares to try', list('--what-if-utilization'))
    .addOption(new Option('--format <fmt>', 'output format').choices(['table', 'md', 'json']).default('table'))
    .option('--store <file>', 'results store')
  addCostOptions(cmd)
  cmd.action((opts: PlanOptions) => {
    const price =
      opts.priceUsdPerMtok !== undefined || opts.inputPriceUsdPerMtok !== undefined
        ? { price: { ...(opts.priceUsdPerMtok !== undefined ? { usdPerMillionOutputTokens: opts.priceUsdPerMtok } : {}), ...(opts.inputPriceUsdPerMtok !== undefined ? { usdPerMillionInputTokens: opts.inputPriceUsdPerMtok } : {}) } }
        : undefined
    const { store } = openCliStore(ctx, opts.store)
    let run
    try {
      run = loadStoredRun(store, resolveRunRef(opts.from, ctx.host.cwd), opts, price)
    } finally {
      store.close()
    }
    // Always a config: the run's own cost: section, the cost flags and the price, validated once.
    const cost = costConfigFor(run.summary, opts, price ?? {}) ?? {}
    const plan = planSite({
      summary: run.summary,
      cost,
      siteMw: opts.siteMw,
      ...(opts.acceleratorsPerRack !== undefined ? { acceleratorsPerRack: opts.acceleratorsPerRack } : {}),
      ...(opts.powerCapW !== undefined ? { powerCapW: opts.powerCapW } : {}),
      whatIf: { ...(opts.whatIfPue ? { pue: opts.whatIfPue } : {}), ...(opts.whatIfPowerCapW ? { powerCapW: opts.whatIfPowerCapW } : {}), ...(opts.whatIfUtilization ? { utilization: opts.whatIfUtilization } : {}) },
    })
    const out = ctx.host.stdout
    const tasks = plan.baseline.tasksPerDay !== null
    const phases = plan.baseline.breakEvenUsdPerMtok !== null
    const head = [...HEADER, ...(tasks ? TASK_HEADER : []), ...(phases ? PHASE_HEADER : [])]
    const rows = [plan.baseline, ...plan.whatIf].map((s) => row(s, tasks, phases))
    if (opts.format === 'json') return void out.write(`${JSON.stringify({ runId: run.summary.id, ...plan }, null, 2)}\n`)
    if (opts.format === 'md') {
      out.write(`# Site plan: ${formatNumber(plan.siteMw)} MW\n\n${m(intro(plan, run.summary.id)).replace(/ Baseline:/, '\n\nBaseline:')}\n\n| ${head.join(' | ')} |\n|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|\n`)
      for (const r of rows) out.write(`| ${r.map(m).join(' | ')} |\n`)
      out.write(`\n${plan.warnings.map((w) => `> ${m(w)}\n`).join('')}\nCost assumptions and their sources: \`tokenwatt report ${m(run.summary.id)}\`.\n`)
      return
    }
    const table = new Table({ head, style: { head: [], border: [] } })
    for (const r of rows) table.push(r)
    out.write(`${intro(plan, run.summary.id)}\n${table.toString()}\n${plan.warnings.map((w) => `warning: ${w}\n`).join('')}cost assumptions and their sources: tokenwatt report ${run.summary.id} --format md\n`)
  })
}
