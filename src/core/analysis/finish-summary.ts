import type { BenchConfig } from '../config/bench-schema.js'
import { computeCost } from '../economics/compute-cost.js'
import { BOUNDARIES, type Boundary, type MeterInfo } from '../ports.js'
import type { PowerSample, RequestRecord } from '../records.js'
import type { RunSummary } from '../summary.js'
import { analyzeEnergy } from './energy/analyze-energy.js'
import { checkCoverage, type CoverageExpectation } from './energy/coverage-check.js'
import { attributePhases } from './energy/phase-attribution.js'

export interface FinishInput {
  /** Only the energy and cost keys are read, so a monitor session's config fits too. */
  readonly config: Pick<BenchConfig, 'boundary' | 'attribution' | 'cost'>
  readonly samples: readonly PowerSample[]
  readonly meters: readonly MeterInfo[]
  readonly idleWindowNs: { readonly startNs: number; readonly endNs: number } | null
  /** Our wall-clock ms at run time 0, to report remote meters' clock offsets. */
  readonly epochWallMs: number | null
  /** The run's request records, for energy by phase (prefill / decode); absent: no phase figures. */
  readonly records?: readonly RequestRecord[]
  /** When given: what the telemetry must cover; `defaultNode` names unlabelled meters' node (the host). */
  readonly coverage?: { readonly expect: CoverageExpectation; readonly defaultNode: string }
  /** The node unlabelled host meters read (the run's host), for energy per node. */
  readonly defaultNode?: string
}

/** The innermost boundary any meter reads (a measured one before an estimate); the default headline boundary. */
export function lowestMeteredBoundary(meters: readonly MeterInfo[]): Boundary {
  const pick = (ms: readonly MeterInfo[]): Boundary | undefined => BOUNDARIES.find((b) => ms.some((m) => m.boundary === b))
  return pick(meters.filter((m) => !m.estimated)) ?? pick(meters) ?? 'device'
}

function defaultNodeOf(input: FinishInput): { defaultNode?: string } {
  const node = input.defaultNode ?? input.coverage?.defaultNode
  return node !== undefined ? { defaultNode: node } : {}
}

/**
 * Adds the energy (power, efficiency at the chosen boundary) and cost sections to a run's summary.
 * Pure: re-running it on a stored run's samples gives the same figures.
 */
export function finishSummary(summary: RunSummary, input: FinishInput): RunSummary {
  const warnings = [...summary.warnings]
  let out: RunSummary = summary
  if (input.meters.length > 0) {
    const e = analyzeEnergy({
      samples: input.samples,
      meters: input.meters,
      window: { startNs: summary.window.startS * 1e9, endNs: summary.window.endS * 1e9 },
      idleWindow: input.idleWindowNs,
      boundary: input.config.boundary ?? lowestMeteredBoundary(input.meters),
      attribution: input.config.attribution,
      outputTokens: summary.tokens.output,
      inputTokens: summary.tokens.input,
      durationS: summary.window.durationS,
      ...(input.epochWallMs !== null ? { wallAnchor: { atNs: 0, wallMs: input.epochWallMs } } : {}),
      ...defaultNodeOf(input),
    })
    warnings.push(...e.warnings)
    out = { ...out, power: e.power, efficiency: e.efficiency }
    const energyJ = e.power.energyJ
    if (input.records !== undefined && e.efficiency !== null && energyJ !== null && energyJ > 0) {
      const p = attributePhases({
        records: input.records,
        samples: input.samples,
        meters: input.meters,
        meterSummaries: e.power.meters,
        window: { startNs: summary.window.startS * 1e9, endNs: summary.window.endS * 1e9 },
        boundary: e.power.boundary,
        boundaryEnergyJ: energyJ,
        epochWallMs: input.epochWallMs,
      })
      if (p !== null) {
        warnings.push(...p.warnings)
        out = { ...out, efficiency: { ...e.efficiency, joulesPerInputToken: p.joulesPerInputToken, joulesPerOutputTokenDecode: p.joulesPerOutputTokenDecode, phases: p.phases } }
      }
    }
    if (input.coverage !== undefined) {
      const check = checkCoverage({ meters: input.meters, samples: input.samples, window: { startNs: summary.window.startS * 1e9, endNs: summary.window.endS * 1e9 }, expect: input.coverage.expect, defaultNode: input.coverage.defaultNode })
      out = { ...out, power: { ...e.power, coverageCheck: check } }
      if (check.verdict === 'invalid') {
        // a figure over part of the system would be silently smaller: none is quoted
        out = { ...out, efficiency: null }
        for (const r of check.reasons) warnings.push(`power coverage: ${r}; efficiency figures are null`)
        const v = out.validity
        if (v !== undefined) out = { ...out, validity: { ...v, verdict: 'invalid', reasons: [...v.reasons, ...check.reasons.map((r) => `power coverage: ${r}`)] } }
      }
    }
  } else {
    warnings.push('no power meter was read (--meter KIND): power, energy and tokens-per-joule figures are null')
  }
  if (input.config.cost !== undefined) {
    const c = computeCost(input.config.cost, out)
    warnings.push(...c.warnings)
    out = { ...out, cost: c.cost }
  }
  return { ...out, warnings }
}
