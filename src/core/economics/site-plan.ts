import type { CostConfig } from '../config/cost-schema.js'
import { ConfigError } from '../errors.js'
import type { RunSummary } from '../summary.js'
import { computeCost, type CostResult } from './compute-cost.js'
import { priceSheet } from './price-sheet.js'
import { PRESETS } from './presets.js'

export interface SitePlanInput {
  readonly summary: RunSummary
  /** The run's cost config with the user's overrides; `accelerators` is how many served the run. */
  readonly cost: CostConfig
  /** Utility power available to the deployment at the facility boundary, MW. */
  readonly siteMw: number
  /** Accelerators per rack (whole racks are placed); absent: the preset's, else per accelerator. */
  readonly acceleratorsPerRack?: number
  readonly powerCapW?: number
  readonly whatIf?: {
    readonly pue?: readonly number[]
    readonly powerCapW?: readonly number[]
    readonly utilization?: readonly number[]
  }
}

export interface PlanScenario {
  readonly name: string
  readonly pue: number
  readonly powerCapW: number | null
  readonly utilization: number
  /** Provisioned facility power per accelerator (all-in IT × PUE), kW. */
  readonly facilityKwPerAccelerator: number
  readonly accelerators: number
  readonly racks: number | null
  readonly rackKw: number | null
  /** Share of the site's power the placed equipment is provisioned for. */
  readonly siteUsed: number
  /** Average facility draw of the placed fleet at the run's measured power and this utilisation, MW. */
  readonly averageDrawMw: number | null
  readonly outputTokensPerDay: number
  readonly totalTokensPerDay: number
  readonly usdPerMillionOutputTokens: number | null
  readonly costUsdPerDay: number | null
  readonly revenueUsdPerDay: number | null
  readonly marginUsdPerDay: number | null
  readonly outputTokensPerSPerSiteMw: number
  /** Session runs: tasks (sessions) the placed fleet completes per day at this utilisation; null otherwise. */
  readonly tasksPerDay: number | null
  /** Tasks that meet the task SLO per day; null without a task SLO or without sessions. */
  readonly goodTasksPerDay: number | null
  /** Cost per completed task: cost per day ÷ tasks per day. */
  readonly usdPerTask: number | null
  /** Revenue per day per MW of the site at the user's prices; null without prices. */
  readonly revenueUsdPerSiteMwDay: number | null
  /** Runs with energy by phase: the input and output prices that recover this scenario's cost (its price sheet). */
  readonly breakEvenUsdPerMtok: { readonly input: number; readonly output: number } | null
}

export interface SitePlan {
  readonly siteMw: number
  readonly acceleratorsInRun: number
  readonly outputTokensPerSPerAccelerator: number
  readonly baseline: PlanScenario
  readonly whatIf: readonly PlanScenario[]
  /** The cost model of the baseline (per run deployment), with its assumptions and sources. */
  readonly cost: CostResult
  readonly warnings: readonly string[]
}

/**
 * How many accelerators (in whole racks) fit a site's power, what they produce and cost per day,
 * from one measured run: throughput per accelerator and measured power are the run's; provisioned
 * power per accelerator is all-in IT power × PUE, with a power cap replacing the accelerator's
 * nameplate share. What-ifs vary PUE, cap and utilisation one at a time around the baseline.
 */
export function planSite(input: SitePlanInput): SitePlan {
  const warnings: string[] = []
  const { summary } = input
  const base = input.cost
  const preset = base.preset ? PRESETS[base.preset] : null
  const n = base.accelerators ?? 1
  if (base.accelerators === undefined) warnings.push('cost.accelerators not set: assuming the run was served by 1 accelerator (set --accelerators N)')
  const provKw = base.provisionedKwPerAccelerator ?? preset?.provisionedKw.value ?? null
  if (provKw === null) throw new ConfigError('planning needs the all-in provisioned power per accelerator', { hint: 'pass --preset NAME (h100, h200, b200, gb200, mi300x, mi355x) or set cost.provisionedKwPerAccelerator' })
  const nameplateW = base.nameplateWPerAccelerator ?? preset?.nameplateW.value ?? null
  const perRack = input.acceleratorsPerRack ?? preset?.acceleratorsPerRack.value ?? null
  const tokPerAcc = summary.throughput.outputTokensPerS / n
  const totalPerAcc = summary.throughput.totalTokensPerS / n
  const tasksPerAcc = summary.tasks?.tasksPerS != null ? summary.tasks.tasksPerS / n : null
  const goodTasksPerAcc = summary.tasks?.slo.goodTasksPerS != null ? summary.tasks.slo.goodTasksPerS / n : null
  let capWarned = false

  const scenario = (name: string, v: { pue?: number; powerCapW?: number | null; utilization?: number }): { s: PlanScenario; cost: CostResult } => {
    const cap = v.powerCapW === undefined ? (input.powerCapW ?? null) : v.powerCapW
    let kw = provKw
    if (cap !== null) {
      if (nameplateW === null) warnings.push(`power cap ${cap} W ignored: the accelerator's nameplate is unknown (set cost.nameplateWPerAccelerator or --preset)`)
      else if (cap < nameplateW) kw = provKw - nameplateW / 1000 + cap / 1000
      if (!capWarned) {
        warnings.push('a power cap changes provisioned power only here: throughput and measured power are the run\'s; measure at the cap (tokenwatt sweep) for the real figures')
        capWarned = true
      }
    }
    const cfg: CostConfig = { ...base, accelerators: n, provisionedKwPerAccelerator: kw, ...(v.pue !== undefined ? { pue: v.pue } : {}), ...(v.utilization !== undefined ? { utilization: v.utilization } : {}) }
    const { cost, warnings: w } = computeCost(cfg, summary)
    if (name === 'baseline') warnings.push(...w)
    const pue = cost.assumptions.find((a) => a.name === 'pue')?.value as number
    const facKw = kw * pue
    const siteKw = input.siteMw * 1000
    let accelerators: number
    let racks: number | null = null
    let rackKw: number | null = null
    if (perRack !== null) {
      rackKw = perRack * facKw
      racks = Math.floor(siteKw / rackKw)
      accelerators = racks * perRack
    } else accelerators = Math.floor(siteKw / facKw)
    const u = cost.utilization
    const sheet = priceSheet(summary, cost)
    const perAccHour = cost.usdPerAcceleratorHour
    const revenuePerAccHour = cost.revenue ? cost.revenue.usdPerHour / n : null
    const s: PlanScenario = {
      name,
      pue,
      powerCapW: cap,
      utilization: u,
      facilityKwPerAccelerator: facKw,
      accelerators,
      racks,
      rackKw,
      siteUsed: siteKw > 0 ? (accelerators * facKw) / siteKw : 0,
      averageDrawMw: cost.energy.averageW !== null && cost.energy.source !== 'provisioned' ? ((cost.energy.averageW / n) * accelerators) / 1e6 : null,
      outputTokensPerDay: accelerators * tokPerAcc * 86_400 * u,
      totalTokensPerDay: accelerators * totalPerAcc * 86_400 * u,
      usdPerMillionOutputTokens: cost.usdPerMillionOutputTokens,
      costUsdPerDay: perAccHour !== null ? perAccHour * accelerators * 24 : null,
      revenueUsdPerDay: revenuePerAccHour !== null ? revenuePerAccHour * accelerators * 24 : null,
      marginUsdPerDay: revenuePerAccHour !== null && perAccHour !== null ? (revenuePerAccHour - perAccHour) * accelerators * 24 : null,
      outputTokensPerSPerSiteMw: input.siteMw > 0 ? (accelerators * tokPerAcc) / input.siteMw : 0,
      tasksPerDay: tasksPerAcc !== null ? accelerators * tasksPerAcc * 86_400 * u : null,
      goodTasksPerDay: goodTasksPerAcc !== null ? accelerators * goodTasksPerAcc * 86_400 * u : null,
      usdPerTask: tasksPerAcc !== null && tasksPerAcc > 0 && perAccHour !== null ? (perAccHour * 24) / (tasksPerAcc * 86_400 * u) : null,
      revenueUsdPerSiteMwDay: revenuePerAccHour !== null && input.siteMw > 0 ? (revenuePerAccHour * accelerators * 24) / input.siteMw : null,
      breakEvenUsdPerMtok: sheet ? { input: sheet.inputUsdPerMtok, output: sheet.outputUsdPerMtok } : null,
    }
    return { s, cost }
  }

  const baseline = scenario('baseline', {})
  const whatIf: PlanScenario[] = []
  for (const p of input.whatIf?.pue ?? []) whatIf.push(scenario(`PUE ${p}`, { pue: p }).s)
  for (const c of input.whatIf?.powerCapW ?? []) whatIf.push(scenario(`power cap ${c} W`, { powerCapW: c }).s)
  for (const u of input.whatIf?.utilization ?? []) whatIf.push(scenario(`utilisation ${Math.round(u * 100)} %`, { utilization: u }).s)
  if (baseline.s.accelerators === 0) warnings.push(`the site (${input.siteMw} MW) is smaller than one ${perRack !== null ? `rack (${(baseline.s.rackKw ?? 0).toFixed(0)} kW)` : 'accelerator'}`)
  return { siteMw: input.siteMw, acceleratorsInRun: n, outputTokensPerSPerAccelerator: tokPerAcc, baseline: baseline.s, whatIf, cost: baseline.cost, warnings: [...new Set(warnings)] }
}
