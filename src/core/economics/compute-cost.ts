import type { CostConfig } from '../config/cost-schema.js'
import type { CostSection, Interval, RunSummary } from '../summary.js'
import { capitalRecoveryFactor, HOURS_PER_MONTH, HOURS_PER_YEAR } from './capital-recovery.js'
import { facilityPower, type FacilityPowerSource } from './facility-power.js'
import { DEFAULT_ASSUMPTIONS, PRESETS, type SourcedValue } from './presets.js'

/** Cost components, in the order reports list them. */
export const COST_COMPONENTS = ['rent', 'capex', 'networkStorage', 'facility', 'colocation', 'maintenance', 'software', 'energy'] as const
export type CostComponent = (typeof COST_COMPONENTS)[number]

export const COST_COMPONENT_LABELS: Readonly<Record<CostComponent, string>> = {
  rent: 'Rental',
  capex: 'Server capex',
  networkStorage: 'Network & storage capex',
  facility: 'Facility capex',
  colocation: 'Colocation',
  maintenance: 'Maintenance',
  software: 'Software licences',
  energy: 'Electricity',
}

export interface CostAssumption {
  readonly name: string
  readonly value: number | string
  readonly unit: string
  /** 'config' when the user set it; otherwise the preset's or default's public source. */
  readonly source: string
}

/** What `computeCost` writes to `summary.cost`: DESIGN.md §5's CostSection plus the breakdown behind it. */
export interface CostResult extends CostSection {
  readonly mode: 'own' | 'rent' | 'energy-only'
  readonly preset: string | null
  readonly accelerators: number
  /** Cost of the whole deployment per wall-clock hour, by component. */
  readonly usdPerHour: Readonly<Partial<Record<CostComponent, number>>>
  readonly usdPerHourTotal: number | null
  readonly usdPerAcceleratorHour: number | null
  readonly usdPerMillionOutputTokensByComponent: Readonly<Partial<Record<CostComponent, number>>>
  /** Cost per million output tokens of requests that met the SLO. */
  readonly usdPerMillionGoodOutputTokens: number | null
  /** Range of usdPerMillionOutputTokens from the energy measurement's interval (other inputs exact). */
  readonly interval: Interval | null
  /** The input/output price pair that exactly recovers cost at the chosen ratio. */
  readonly breakEven: {
    readonly inputOutputPriceRatio: number
    readonly usdPerMillionInputTokens: number | null
    readonly usdPerMillionOutputTokens: number | null
  }
  /** Electricity basis: facility-boundary power while serving and idle. */
  readonly energy: {
    readonly boundary: 'facility'
    readonly source: FacilityPowerSource | null
    readonly fromBoundary: string | null
    readonly servingW: number | null
    readonly idleW: number | null
    readonly averageW: number | null
    readonly kwhPerHour: number | null
    readonly included: boolean
    readonly notes: readonly string[]
  }
  /** Provisioned power of the deployment: IT (all-in per accelerator × N) and at the facility (× PUE). */
  readonly provisioned: { readonly itKw: number | null; readonly facilityKw: number | null }
  readonly tokensPerSPerMW: {
    readonly outputPerProvisionedItMW: number | null
    readonly outputPerProvisionedFacilityMW: number | null
    readonly outputPerMeasuredFacilityMW: number | null
    readonly totalPerProvisionedFacilityMW: number | null
    readonly totalPerMeasuredFacilityMW: number | null
  }
  readonly tokensPerAcceleratorPerS: { readonly output: number; readonly total: number }
  readonly revenue: {
    readonly usdPerMillionOutputTokens: number
    readonly usdPerMillionInputTokens: number
    readonly usdPerHour: number
    readonly usdPerMWhProvisioned: number | null
    readonly usdPerMWhConsumed: number | null
    readonly marginUsdPerHour: number | null
    readonly marginShare: number | null
  } | null
  readonly assumptions: readonly CostAssumption[]
}

const div = (a: number, b: number): number | null => (b > 0 && Number.isFinite(a) ? a / b : null)

/**
 * Prices the measured run: cost per hour by component, per million output/input/total/good tokens,
 * tokens per second per MW (provisioned and measured, at the facility), and revenue per MW-hour when
 * a selling price is given. Pure arithmetic on the summary; every assumption used is listed.
 *
 * Conventions (as InferenceX): `usdPerMillionOutputTokens` charges the whole cost to output tokens,
 * `usdPerMillionInputTokens` to input tokens, `usdPerMillionTokensBlended` to input + output tokens;
 * `breakEven` splits cost between them at `inputOutputPriceRatio`.
 *
 * @example
 * // InferenceX: $/Mtok = $/GPU-hr × 1e6 / (3600 × tok/s/GPU)
 * computeCost({ accelerators: 8, mode: 'rent', rent: { usdPerAcceleratorHour: 2.21 } }, summary).cost.usdPerMillionOutputTokens
 */
export function computeCost(cost: CostConfig, summary: RunSummary): { cost: CostResult; warnings: string[] } {
  const warnings: string[] = []
  const assumptions: CostAssumption[] = []
  const preset = cost.preset ? PRESETS[cost.preset] : null
  const pick = (name: string, unit: string, configured: number | undefined, presetValue: SourcedValue | null | undefined, fallback?: SourcedValue): number | null => {
    if (configured !== undefined) {
      assumptions.push({ name, value: configured, unit, source: 'config' })
      return configured
    }
    const v = presetValue ?? fallback
    if (!v) return null
    assumptions.push({ name, value: v.value, unit: v.unit, source: `${presetValue ? `preset ${preset?.id}: ` : 'default: '}${v.source} (${v.date})` })
    return v.value
  }

  let accelerators = cost.accelerators
  if (accelerators === undefined) {
    accelerators = 1
    warnings.push('cost.accelerators not set: assuming the endpoint ran on 1 accelerator (set --accelerators N)')
  }
  assumptions.push({ name: 'accelerators', value: accelerators, unit: 'count', source: cost.accelerators !== undefined ? 'config' : 'default: 1' })
  const utilization = cost.utilization ?? 1
  assumptions.push({ name: 'utilization', value: utilization, unit: 'share of hours', source: cost.utilization !== undefined ? 'config' : 'default: 1 (serving every hour at the measured throughput)' })

  const rentPrice = cost.rent?.usdPerAcceleratorHour
  const presetRent = preset ? (cost.rent?.tier === 'owner-tco' ? preset.ownerTcoUsdPerHour : preset.rentUsdPerHour) : null
  const hasCapex = cost.own?.serverCapexUsdPerAccelerator !== undefined
  const mode: CostResult['mode'] =
    cost.mode ?? (hasCapex ? 'own' : rentPrice !== undefined || presetRent ? 'rent' : cost.own ? 'own' : 'energy-only')
  if (mode === 'energy-only') warnings.push('no rental price, capex or preset given: cost covers electricity only')

  const pue = pick('pue', 'ratio', cost.pue, null, DEFAULT_ASSUMPTIONS.pue) ?? 1
  const provisionedKw = pick('provisionedKwPerAccelerator', 'kW', cost.provisionedKwPerAccelerator, preset?.provisionedKw)
  pick('nameplateWPerAccelerator', 'W', cost.nameplateWPerAccelerator, preset?.nameplateW)
  const provisionedItKw = provisionedKw !== null ? provisionedKw * accelerators : null
  const provisionedFacilityKw = provisionedItKw !== null ? provisionedItKw * pue : null

  const energyIncluded = mode === 'rent' && (cost.rent?.energyIncluded ?? true)
  const usdPerKwh = energyIncluded ? 0 : (pick('usdPerKwh', 'USD/kWh', cost.usdPerKwh, null, DEFAULT_ASSUMPTIONS.usdPerKwh) ?? 0)
  if (energyIncluded) assumptions.push({ name: 'energyIncluded', value: 'yes', unit: '', source: cost.rent?.energyIncluded !== undefined ? 'config' : 'default: rental prices include power' })

  const idleFallback = cost.idleWPerAccelerator !== undefined ? cost.idleWPerAccelerator * accelerators : null
  if (cost.idleWPerAccelerator !== undefined) assumptions.push({ name: 'idleWPerAccelerator', value: cost.idleWPerAccelerator, unit: 'W', source: 'config' })
  const fp = facilityPower(summary, pue, { provisionedItW: provisionedItKw !== null ? provisionedItKw * 1000 : null, idleW: idleFallback })
  // Caveats that change the number are warnings; how it was derived stays in cost.energy.notes.
  if (fp && !energyIncluded) for (const n of fp.notes) if (n.startsWith('device boundary') || n.startsWith('no power')) warnings.push(n)
  let idleW = fp?.idleW ?? null
  if (fp && idleW === null && utilization < 1) {
    idleW = fp.servingW
    warnings.push('idle power unknown (no idle measurement, no cost.idleWPerAccelerator): idle hours priced at serving power, an upper bound')
  }
  const averageW = fp ? utilization * fp.servingW + (1 - utilization) * (idleW ?? fp.servingW) : null
  const kwhPerHour = averageW !== null ? averageW / 1000 : null

  const usdPerHour: Partial<Record<CostComponent, number>> = {}
  let complete = true
  if (!energyIncluded) {
    if (kwhPerHour === null) {
      complete = false
      warnings.push('no power measured and no provisioned power known: electricity cannot be priced (add a meter, or --preset)')
    } else usdPerHour.energy = kwhPerHour * usdPerKwh
  }

  if (mode === 'rent') {
    const rate = rentPrice ?? presetRent?.value ?? null
    if (rentPrice !== undefined) assumptions.push({ name: 'usdPerAcceleratorHour', value: rentPrice, unit: 'USD/accelerator-hour', source: 'config' })
    else if (presetRent) assumptions.push({ name: 'usdPerAcceleratorHour', value: presetRent.value, unit: presetRent.unit, source: `preset ${preset?.id}: ${presetRent.source} (${presetRent.date})` })
    if (rate === null) {
      complete = false
      warnings.push('cost.mode is rent but no price: set --usd-per-accelerator-hour or --preset')
    } else usdPerHour.rent = rate * accelerators
  } else if (mode === 'own') {
    const own = cost.own ?? {}
    const capex = pick('serverCapexUsdPerAccelerator', 'USD/accelerator', own.serverCapexUsdPerAccelerator, preset?.serverCapexUsdPerAccelerator)
    const years = pick('depreciationYears', 'years', own.depreciationYears, null, DEFAULT_ASSUMPTIONS.depreciationYears) ?? 4
    const rate = pick('costOfCapital', '1/year', own.costOfCapital, null, DEFAULT_ASSUMPTIONS.costOfCapital) ?? 0
    const crf = capitalRecoveryFactor(rate, years)
    assumptions.push({ name: 'capitalRecoveryFactor', value: crf, unit: '1/year', source: `computed: r(1+r)^n/((1+r)^n−1), r=${rate}, n=${years}` })
    if (capex === null) {
      complete = false
      warnings.push(`own mode needs server capex: set cost.own.serverCapexUsdPerAccelerator${preset ? ` (no public server price for ${preset.label} in the preset)` : ''}`)
    } else {
      const netShare = own.networkStorageShare ?? 0
      const netUsd = own.networkStorageUsdPerAccelerator ?? 0
      if (own.networkStorageShare !== undefined) assumptions.push({ name: 'networkStorageShare', value: netShare, unit: 'share of server capex', source: 'config' })
      if (own.networkStorageUsdPerAccelerator !== undefined) assumptions.push({ name: 'networkStorageUsdPerAccelerator', value: netUsd, unit: 'USD/accelerator', source: 'config' })
      const network = capex * netShare + netUsd
      usdPerHour.capex = (capex * accelerators * crf) / HOURS_PER_YEAR
      if (network > 0) usdPerHour.networkStorage = (network * accelerators * crf) / HOURS_PER_YEAR
      const maintenance = own.maintenanceSharePerYear
      if (maintenance !== undefined) {
        assumptions.push({ name: 'maintenanceSharePerYear', value: maintenance, unit: 'share of IT capex per year', source: 'config' })
        usdPerHour.maintenance = (maintenance * (capex + network) * accelerators) / HOURS_PER_YEAR
      }
    }
    if (own.softwareUsdPerAcceleratorYear !== undefined) {
      assumptions.push({ name: 'softwareUsdPerAcceleratorYear', value: own.softwareUsdPerAcceleratorYear, unit: 'USD/accelerator-year', source: 'config' })
      usdPerHour.software = (own.softwareUsdPerAcceleratorYear * accelerators) / HOURS_PER_YEAR
    }
    const needsKw = own.facilityCapexUsdPerKw !== undefined || own.colocationUsdPerKwMonth !== undefined
    if (needsKw && provisionedItKw === null) {
      complete = false
      warnings.push('facility capex / colocation are priced per provisioned kW: set cost.provisionedKwPerAccelerator or --preset')
    }
    if (own.facilityCapexUsdPerKw !== undefined && provisionedItKw !== null) {
      const life = pick('facilityLifeYears', 'years', own.facilityLifeYears, null, DEFAULT_ASSUMPTIONS.facilityLifeYears) ?? 15
      assumptions.push({ name: 'facilityCapexUsdPerKw', value: own.facilityCapexUsdPerKw, unit: 'USD/kW', source: 'config' })
      usdPerHour.facility = (own.facilityCapexUsdPerKw * provisionedItKw * capitalRecoveryFactor(rate, life)) / HOURS_PER_YEAR
    }
    if (own.colocationUsdPerKwMonth !== undefined && provisionedItKw !== null) {
      assumptions.push({ name: 'colocationUsdPerKwMonth', value: own.colocationUsdPerKwMonth, unit: 'USD/kW-month', source: 'config' })
      usdPerHour.colocation = (own.colocationUsdPerKwMonth * provisionedItKw) / HOURS_PER_MONTH
    }
    if (own.facilityCapexUsdPerKw !== undefined && own.colocationUsdPerKwMonth !== undefined) {
      warnings.push('both facility capex and colocation are set: colocation rent usually already covers the facility; check for double counting')
    }
    const omitted = [
      own.facilityCapexUsdPerKw === undefined && own.colocationUsdPerKwMonth === undefined ? 'facility capex or colocation' : null,
      own.maintenanceSharePerYear === undefined ? 'maintenance' : null,
      own.softwareUsdPerAcceleratorYear === undefined ? 'software licences' : null,
    ].filter((x): x is string => x !== null)
    if (omitted.length > 0) warnings.push(`own-mode cost leaves out ${omitted.join(', ')} (not configured)`)
  }

  const outTps = summary.throughput.outputTokensPerS
  const totalTps = summary.throughput.totalTokensPerS
  const inTps = Math.max(0, totalTps - outTps)
  const goodTps = summary.slo.goodOutputTokensPerS
  const total = complete ? Object.values(usdPerHour).reduce((s, v) => s + v, 0) : null
  const perMillion = (usdHour: number | null, tokensPerS: number | null): number | null =>
    usdHour === null || tokensPerS === null ? null : div(usdHour * 1e6, tokensPerS * 3600 * utilization)
  if (!(outTps > 0)) warnings.push('no output tokens in the steady window: cost per token cannot be computed')
  if (goodTps === 0) warnings.push('no request met the SLO: cost per good token is undefined')

  const byComponent: Partial<Record<CostComponent, number>> = {}
  if (total !== null) for (const c of COST_COMPONENTS) {
    const v = usdPerHour[c]
    const pm = v !== undefined ? perMillion(v, outTps) : null
    if (pm !== null) byComponent[c] = pm
  }
  const ratio = pick('inputOutputPriceRatio', 'ratio', cost.inputOutputPriceRatio, null, DEFAULT_ASSUMPTIONS.inputOutputPriceRatio) ?? 0.25
  const breakEvenOut = perMillion(total, ratio * inTps + outTps)

  const usdPerMillionOutputTokens = perMillion(total, outTps)
  let interval: Interval | null = null
  if (usdPerMillionOutputTokens !== null && fp?.relativeInterval && usdPerHour.energy !== undefined && total !== null) {
    const rest = total - usdPerHour.energy
    const lo = perMillion(rest + usdPerHour.energy * fp.relativeInterval.low, outTps)
    const hi = perMillion(rest + usdPerHour.energy * fp.relativeInterval.high, outTps)
    if (lo !== null && hi !== null) interval = { low: Math.min(lo, hi), high: Math.max(lo, hi) }
  }

  const measuredFacilityMW = fp && fp.source !== 'provisioned' ? fp.servingW / 1e6 : null
  const provItMW = provisionedItKw !== null ? provisionedItKw / 1000 : null
  const provFacMW = provisionedFacilityKw !== null ? provisionedFacilityKw / 1000 : null

  let revenue: CostResult['revenue'] = null
  if (cost.price && (cost.price.usdPerMillionOutputTokens !== undefined || cost.price.usdPerMillionInputTokens !== undefined)) {
    const pOut = cost.price.usdPerMillionOutputTokens ?? 0
    const pIn = cost.price.usdPerMillionInputTokens ?? 0
    const perHour = (utilization * 3600 * (outTps * pOut + inTps * pIn)) / 1e6
    const consumedMWhPerHour = averageW !== null && fp?.source !== 'provisioned' ? averageW / 1e6 : null
    revenue = {
      usdPerMillionOutputTokens: pOut,
      usdPerMillionInputTokens: pIn,
      usdPerHour: perHour,
      usdPerMWhProvisioned: provFacMW !== null ? div(perHour, provFacMW) : null,
      usdPerMWhConsumed: consumedMWhPerHour !== null ? div(perHour, consumedMWhPerHour) : null,
      marginUsdPerHour: total !== null ? perHour - total : null,
      marginShare: total !== null ? div(perHour - total, perHour) : null,
    }
  }

  const result: CostResult = {
    currency: 'USD',
    mode,
    preset: preset?.id ?? null,
    accelerators,
    utilization,
    usdPerHour,
    usdPerHourTotal: total,
    usdPerAcceleratorHour: total !== null ? total / accelerators : null,
    usdPerMillionOutputTokens,
    usdPerMillionInputTokens: perMillion(total, inTps > 0 ? inTps : null),
    usdPerMillionTokensBlended: perMillion(total, totalTps),
    usdPerMillionOutputTokensByComponent: byComponent,
    usdPerMillionGoodOutputTokens: goodTps !== null && goodTps > 0 ? perMillion(total, goodTps) : null,
    interval,
    breakEven: {
      inputOutputPriceRatio: ratio,
      usdPerMillionOutputTokens: breakEvenOut,
      usdPerMillionInputTokens: breakEvenOut !== null ? breakEvenOut * ratio : null,
    },
    energy: {
      boundary: 'facility',
      source: fp?.source ?? null,
      fromBoundary: fp?.fromBoundary ?? null,
      servingW: fp?.servingW ?? null,
      idleW,
      averageW,
      kwhPerHour,
      included: energyIncluded,
      notes: fp?.notes ?? [],
    },
    provisioned: { itKw: provisionedItKw, facilityKw: provisionedFacilityKw },
    tokensPerSPerMW: {
      outputPerProvisionedItMW: provItMW !== null ? div(outTps, provItMW) : null,
      outputPerProvisionedFacilityMW: provFacMW !== null ? div(outTps, provFacMW) : null,
      outputPerMeasuredFacilityMW: measuredFacilityMW !== null ? div(outTps, measuredFacilityMW) : null,
      totalPerProvisionedFacilityMW: provFacMW !== null ? div(totalTps, provFacMW) : null,
      totalPerMeasuredFacilityMW: measuredFacilityMW !== null ? div(totalTps, measuredFacilityMW) : null,
    },
    tokensPerAcceleratorPerS: { output: outTps / accelerators, total: totalTps / accelerators },
    revenue,
    assumptions,
  }
  return { cost: result, warnings }
}
