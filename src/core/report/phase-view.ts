import type { PhaseFigure, PhasesSection } from '../analysis/energy/phase-attribution.js'
import type { CostResult } from '../economics/compute-cost.js'
import { priceSheet, type CurrentPrices, type PriceSheet } from '../economics/price-sheet.js'
import type { RunSummary } from '../summary.js'
import { formatNumber, formatPercent, formatUsd, formatWithUnit } from './format.js'
import type { ReportTable } from './report-model.js'

/** The phase figures of a run's summary, when the energy analysis attributed them. */
export function phasesOf(s: RunSummary): { phases: PhasesSection; input: PhaseFigure; output: PhaseFigure } | null {
  const e = s.efficiency
  const phases = e?.phases as PhasesSection | undefined
  const input = e?.joulesPerInputToken as PhaseFigure | undefined
  const output = e?.joulesPerOutputTokenDecode as PhaseFigure | undefined
  return phases && input && output ? { phases, input, output } : null
}

const interval = (f: PhaseFigure, which: 'total' | 'dynamic'): string => {
  const i = which === 'total' ? f.totalInterval : f.dynamicInterval
  return i ? `${formatNumber(i.low)} – ${formatNumber(i.high)} J/tok` : 'no interval (modelled split)'
}

/** "Energy by phase": J per input and per output token, total and dynamic, with intervals and the method. */
export function phaseTable(s: RunSummary): ReportTable | null {
  const p = phasesOf(s)
  if (!p) return null
  const { phases, input, output } = p
  const how = phases.modelled ? `MODELLED (declared split by request-seconds): ${phases.reason ?? ''}` : `fit on ${phases.meterId}, ${phases.bins} spans, R² ${formatNumber(phases.r2)}`
  const rows = [
    ['energy per input token (total)', formatWithUnit(input.total, 'J/tok'), interval(input, 'total'), `${formatNumber(phases.inputTokens)} uncached prompt tokens prefilled in the window`],
    ['energy per input token (dynamic)', formatWithUnit(input.dynamic, 'J/tok'), interval(input, 'dynamic'), `above idle (${formatNumber(phases.idleW)} W, ${phases.idleSource})`],
    ['energy per output token, decode (total)', formatWithUnit(output.total, 'J/tok'), interval(output, 'total'), `${formatNumber(phases.decodeTokens)} tokens after each request's first`],
    ['energy per output token, decode (dynamic)', formatWithUnit(output.dynamic, 'J/tok'), interval(output, 'dynamic'), 'above idle'],
    ['prefill energy per prompt token, cached ones included', formatWithUnit(phases.joulesPerPromptTokenWithCache, 'J/tok'), '', `${formatNumber(phases.cachedInputTokens)} cached prompt tokens cost no prefill`],
    ['prefill share of energy', formatPercent(phases.prefillEnergyShare), '', `decode ${formatPercent(1 - phases.prefillEnergyShare)}`],
    ['prefill share of request time', formatPercent(phases.prefillTimeShare), '', `${formatNumber(phases.prefillRequestS)} of ${formatNumber(phases.prefillRequestS + phases.decodeRequestS)} request-seconds`],
    ['W per request in prefill / decode', `${formatNumber(phases.prefillWPerRequest)} / ${formatNumber(phases.decodeWPerRequest)} W`, '', how],
  ]
  return {
    id: 'phases',
    title: 'Energy by phase',
    caption: `At the ${phases.boundary} boundary, over the steady window. Prefill is send → first token, decode first → last token. Total includes each phase's share of idle; dynamic is above idle. ${phases.modelled ? 'These figures are modelled, not measured.' : ''}`.trim(),
    columns: ['figure', 'value', 'interval', 'basis'],
    numeric: [1],
    rows,
  }
}

/** "Price sheet": the input and output prices that recover the run's full cost, beside the user's. */
export function priceSheetTable(sheet: PriceSheet): ReportTable {
  const c = sheet.current
  const rows = [
    ['input price that covers cost', `${formatUsd(sheet.inputUsdPerMtok)} /Mtok`, `electricity ${formatUsd(sheet.inputUsdPerHour.energy)}/h + other ${formatUsd(sheet.inputUsdPerHour.other)}/h`, c.inputUsdPerMtok !== null ? `${formatUsd(c.inputUsdPerMtok)} /Mtok, margin ${formatUsd(c.inputMarginUsdPerMtok)} /Mtok` : '—'],
    ['output price that covers cost', `${formatUsd(sheet.outputUsdPerMtok)} /Mtok`, `electricity ${formatUsd(sheet.outputUsdPerHour.energy)}/h + other ${formatUsd(sheet.outputUsdPerHour.other)}/h`, c.outputUsdPerMtok !== null ? `${formatUsd(c.outputUsdPerMtok)} /Mtok, margin ${formatUsd(c.outputMarginUsdPerMtok)} /Mtok` : '—'],
    ['cost recovered per hour', `${formatUsd(sheet.usdPerHourTotal)} /h`, `at ${formatPercent(sheet.utilization)} utilisation, ${formatNumber(sheet.inputTokensPerS)} in + ${formatNumber(sheet.outputTokensPerS)} out tok/s`, c.revenueUsdPerHour !== null ? `revenue ${formatUsd(c.revenueUsdPerHour)}/h, margin ${formatUsd(c.marginUsdPerHour)}/h (${formatPercent(c.marginShare)})` : '—'],
  ]
  return {
    id: 'price-sheet',
    title: 'Price sheet',
    caption: `Prices per billed million tokens (every prompt token, cached ones included; every output token) that recover the full cost: electricity split by the phases' energy shares (prefill ${formatPercent(sheet.prefillEnergyShare)}), every other cost by their shares of request time (prefill ${formatPercent(sheet.prefillTimeShare)}).${sheet.modelled ? ' The energy split is modelled, not measured.' : ''}`,
    columns: ['figure', 'cost-covering price', 'basis', 'your price'],
    numeric: [1],
    rows,
  }
}

/** Both tables for a run, the price sheet only where the run has a complete cost model. */
export function phaseTables(s: RunSummary, cost: CostResult | null, prices: CurrentPrices = {}): ReportTable[] {
  const t = phaseTable(s)
  if (!t) return []
  const sheet = priceSheet(s, cost, prices)
  return sheet ? [t, priceSheetTable(sheet)] : [t]
}
