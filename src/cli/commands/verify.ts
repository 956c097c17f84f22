import type { Command } from 'commander'
import { parseClaim, verifyClaim, type ClaimVerdict } from '../../core/compare/claim.js'
import type { MetricReading } from '../../core/compare/metric-lookup.js'
import { runEvidence } from '../../core/compare/run-evidence.js'
import { ConfigError, ExitCode } from '../../core/errors.js'
import { formatMetric } from '../../core/report/render-compare.js'
import { addCostOptions, type CostOptions } from '../cost-options.js'
import { resolveRunRef } from '../run-ref.js'
import type { CliContext } from '../cli-context.js'
import { loadStoredRun } from '../stored-run.js'
import { openCliStore } from './runs.js'

interface VerifyOptions extends CostOptions {
  readonly claim: string[]
  readonly strict?: boolean
  readonly json?: boolean
  readonly store?: string
}

function reading(r: MetricReading, unit: string): string {
  const i = r.interval ? ` [95 %: ${formatMetric(r.interval.low, unit)} – ${formatMetric(r.interval.high, unit)}]` : ''
  return `${formatMetric(r.value, unit)}${i}${r.boundary ? ` at the ${r.boundary} boundary` : ''}`
}

function describeVerdict(v: ClaimVerdict, runs: number): string {
  const unit = v.claim.target.metric.unit
  const lines = [`claim:    ${v.claim.text}`, `metric:   ${v.claim.target.metric.title} (${v.claim.target.metric.id}, ${unit})`]
  if (v.runId && v.reading) {
    const j = v.runs.find((r) => r.runId === v.runId)
    lines.push(`run:      ${v.runId}${runs > 1 ? ` (best of ${v.runs.filter((r) => r.conditionsMet).length} run(s) meeting the conditions)` : ''}`)
    lines.push(`measured: ${reading(v.reading, unit)}; uncertainty from ${v.reading.uncertainty}`)
    for (const c of j?.conditions ?? []) lines.push(`at:       ${c.comparison.metric.id} = ${formatMetric(c.reading.value, c.comparison.metric.unit)} (${c.comparison.text}: met)`)
  } else {
    for (const r of v.runs) {
      const failed = r.conditions.filter((c) => !c.met).map((c) => `${c.comparison.metric.id} = ${formatMetric(c.reading.value, c.comparison.metric.unit)}, needs ${c.comparison.text}`)
      lines.push(`run:      ${r.runId}: ${r.reading.value === null ? `${v.claim.target.metric.id} not measured` : failed.join('; ') || 'conditions met'}`)
    }
  }
  lines.push(`verdict:  ${v.passed ? 'PASS' : 'FAIL'}: ${v.reason}`)
  return `${lines.join('\n')}\n`
}

/**
 * `tokenwatt verify --claim "METRIC OP VALUE [at CONDITION]" RUN…`: checks a vendor's (or your
 * own) claim against measured runs. Exit 0 when every claim passes, 98 when one fails: usable in CI.
 */
export function registerVerify(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('verify')
    .description('Check a claim such as "output_tokens_per_s_per_mw >= 2.5e6 at interactivity >= 90" against stored runs (exit 98 when it fails)')
    .argument('<runs...>', 'run ids, prefixes, latest, or a sweep (its chosen point); the claim is judged on the best run meeting its conditions')
    .requiredOption('--claim <text>', 'METRIC OP VALUE [at METRIC OP VALUE [and …]]; repeat for several claims', (v: string, prev: string[] = []) => [...prev, v])
    .option('--strict', 'pass only when the whole 95 % interval satisfies the claim')
    .option('--json', 'print the verdicts as JSON')
    .option('--store <file>', 'results store')
  addCostOptions(cmd)
  cmd.action((ids: string[], opts: VerifyOptions) => {
    const claims = opts.claim.map(parseClaim)
    if (claims.length === 0) throw new ConfigError('give a claim with --claim')
    const { store } = openCliStore(ctx, opts.store)
    let evidence
    try {
      evidence = ids.map((id) => {
        const r = loadStoredRun(store, resolveRunRef(id, ctx.host.cwd), opts)
        return runEvidence(r.cost === r.summary.cost ? r.summary : { ...r.summary, cost: r.cost }, r.requests)
      })
    } finally {
      store.close()
    }
    const verdicts = claims.map((c) => verifyClaim(c, evidence, { strict: opts.strict === true }))
    if (opts.json) ctx.host.stdout.write(`${JSON.stringify(verdicts, null, 2)}\n`)
    else ctx.host.stdout.write(verdicts.map((v) => describeVerdict(v, evidence.length)).join('\n'))
    ctx.exitCode = verdicts.every((v) => v.passed) ? ExitCode.Ok : ExitCode.ClaimFailed
  })
}
