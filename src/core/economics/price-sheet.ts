import type { PhasesSection } from '../analysis/energy/phase-attribution.js'
import type { RunSummary } from '../summary.js'
import type { CostResult } from './compute-cost.js'

/**
 * A price sheet from measurements: the input and output price per million tokens that together recover
 * the run's full cost per hour (cost.usdPerHourTotal, at its utilisation). Electricity is split by the
 * phases' measured energy shares (prefill → input, decode → output); every other cost (capex, rent,
 * facility, software) by their shares of request time, since that is what a request occupies the
 * hardware for. Prices are per billed token: every prompt token (cached ones included, whose near-zero
 * prefill energy lowers the input price) and every output token. Pure.
 */
export interface PriceSheet {
  readonly inputUsdPerMtok: number
  readonly outputUsdPerMtok: number
  /** Cost per hour put on each side: electricity by energy share, the rest by time share. */
  readonly inputUsdPerHour: { readonly energy: number; readonly other: number }
  readonly outputUsdPerHour: { readonly energy: number; readonly other: number }
  readonly prefillEnergyShare: number
  readonly prefillTimeShare: number
  readonly inputTokensPerS: number
  readonly outputTokensPerS: number
  readonly utilization: number
  readonly usdPerHourTotal: number
  /** Whether the energy split is a declared one (phases.modelled). */
  readonly modelled: boolean
  /** The user's current prices and what each side earns over its cost, when given. */
  readonly current: {
    readonly inputUsdPerMtok: number | null
    readonly outputUsdPerMtok: number | null
    readonly inputMarginUsdPerMtok: number | null
    readonly outputMarginUsdPerMtok: number | null
    /** Revenue and margin per hour of the deployment at the current prices (null unless both are given). */
    readonly revenueUsdPerHour: number | null
    readonly marginUsdPerHour: number | null
    readonly marginShare: number | null
  }
}

export interface CurrentPrices {
  readonly inputUsdPerMtok?: number
  readonly outputUsdPerMtok?: number
}

/** Null when the run has no phase figures, no complete cost, or no tokens on a side. */
export function priceSheet(summary: RunSummary, cost: CostResult | null, prices: CurrentPrices = {}): PriceSheet | null {
  const phases = summary.efficiency?.phases as PhasesSection | undefined
  const total = cost?.usdPerHourTotal ?? null
  if (!phases || !cost || total === null) return null
  const outTps = summary.throughput.outputTokensPerS
  const inTps = Math.max(0, summary.throughput.totalTokensPerS - outTps)
  const u = cost.utilization
  if (!(outTps > 0) || !(inTps > 0) || !(u > 0)) return null
  const energy = cost.usdPerHour.energy ?? 0
  const other = total - energy
  const sE = phases.prefillEnergyShare
  const sT = phases.prefillTimeShare
  const input = { energy: energy * sE, other: other * sT }
  const output = { energy: energy * (1 - sE), other: other * (1 - sT) }
  const perMtok = (usdPerHour: number, tps: number): number => (usdPerHour * 1e6) / (tps * 3600 * u)
  const inputUsdPerMtok = perMtok(input.energy + input.other, inTps)
  const outputUsdPerMtok = perMtok(output.energy + output.other, outTps)
  const pIn = prices.inputUsdPerMtok ?? null
  const pOut = prices.outputUsdPerMtok ?? null
  const revenue = pIn !== null && pOut !== null ? ((pIn * inTps + pOut * outTps) * 3600 * u) / 1e6 : null
  return {
    inputUsdPerMtok,
    outputUsdPerMtok,
    inputUsdPerHour: input,
    outputUsdPerHour: output,
    prefillEnergyShare: sE,
    prefillTimeShare: sT,
    inputTokensPerS: inTps,
    outputTokensPerS: outTps,
    utilization: u,
    usdPerHourTotal: total,
    modelled: phases.modelled,
    current: {
      inputUsdPerMtok: pIn,
      outputUsdPerMtok: pOut,
      inputMarginUsdPerMtok: pIn !== null ? pIn - inputUsdPerMtok : null,
      outputMarginUsdPerMtok: pOut !== null ? pOut - outputUsdPerMtok : null,
      revenueUsdPerHour: revenue,
      marginUsdPerHour: revenue !== null ? revenue - total : null,
      marginShare: revenue !== null && revenue > 0 ? (revenue - total) / revenue : null,
    },
  }
}
