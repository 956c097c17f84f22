/**
 * The energy half of a run's analysis: energy in the steady window per meter and channel, attribution
 * to every boundary, the idle baseline, and the efficiency figures at the boundary the user picked.
 * Pure: the same samples and config give the same numbers, so a stored run can be re-analysed.
 *
 * Every figure is tagged with its boundary, which parts were measured and which modelled, and an
 * interval. A figure that cannot be computed is null, with a warning saying why.
 */
import type { AttributionConfig } from '../../config/meters-schema.js'
import type { Boundary, MeterInfo } from '../../ports.js'
import { BOUNDARIES } from '../../ports.js'
import type { PowerSample } from '../../records.js'
import type { BoundaryLevel, EfficiencySection, Interval, MeterSummary, PowerSection } from '../../summary.js'
import { NS_PER_S } from '../../units.js'
import { type AttributionResult, attribute, type Estimate, type LevelResult } from './attribution.js'
import type { TimeWindowNs } from './channel-energy.js'
import { avgW, clockOffsetMs, indexSamples, type MeterEnergy, meterEnergy } from './meter-energy.js'
import { provisionedPower } from './provisioned.js'
import { energyBySite } from './energy-by-site.js'

export interface EnergyAnalysisInput {
  readonly samples: readonly PowerSample[]
  readonly meters: readonly MeterInfo[]
  /** The steady window (ns from the run epoch). */
  readonly window: TimeWindowNs
  /** An idle window before the load, or null. */
  readonly idleWindow: TimeWindowNs | null
  /** The boundary the headline figures are at. */
  readonly boundary: Boundary
  readonly attribution: AttributionConfig
  /** Output and input tokens counted in the window. */
  readonly outputTokens: number
  readonly inputTokens: number
  /** Window length (s) the token counts are over (normally (end − start) of `window`). */
  readonly durationS: number
  /** A wall-clock anchor (our wall ms at a run time) to report source clocks' offsets. */
  readonly wallAnchor?: { readonly atNs: number; readonly wallMs: number }
  /** The node unlabelled host meters read (the host the run ran on), for the per-node breakdown. */
  readonly defaultNode?: string
}

export interface EnergyAnalysis {
  readonly power: PowerSection
  readonly efficiency: EfficiencySection
  readonly warnings: string[]
}

/** Coverage below this gets a warning: the energy then leans on interpolation over gaps. */
const LOW_COVERAGE = 0.95

/**
 * Energy in the window at every boundary and efficiency at `input.boundary`.
 *
 * @example
 * const { power, efficiency, warnings } = analyzeEnergy({ samples, meters, window, idleWindow: null,
 *   boundary: 'node', attribution: AttributionSchema.parse({}), outputTokens, inputTokens, durationS })
 * efficiency.joulesPerOutputToken // J per generated token at the node, with efficiency.interval
 */
export function analyzeEnergy(input: EnergyAnalysisInput): EnergyAnalysis {
  const warnings: string[] = []
  const win = input.window
  const windowS = (win.endNs - win.startNs) / NS_PER_S
  const index = indexSamples(input.samples)
  const known = new Set(input.meters.map((m) => m.id))
  for (const id of index.keys()) if (!known.has(id)) warnings.push(`power samples from an unknown meter "${id}" were ignored`)

  const energies = input.meters.map((info) => meterEnergy(info, index.get(info.id), win))
  for (const e of energies) warnings.push(...e.warnings)
  const attributed = attribute({ meters: energies, config: input.attribution, windowS })
  warnings.push(...attributed.warnings)

  // Idle baseline over the idle window, through the same pipeline.
  let idle: { energies: MeterEnergy[]; attributed: AttributionResult; seconds: number } | null = null
  if (input.idleWindow && input.idleWindow.endNs > input.idleWindow.startNs) {
    const iw = input.idleWindow
    const seconds = (iw.endNs - iw.startNs) / NS_PER_S
    const idleEnergies = input.meters.map((info) => meterEnergy(info, index.get(info.id), iw))
    idle = { energies: idleEnergies, attributed: attribute({ meters: idleEnergies, config: input.attribution, windowS: seconds }), seconds }
  }

  const meters: MeterSummary[] = energies.map((e, i) => meterSummary(e, win, idle ? (idle.energies[i] ?? null) : null, idle?.seconds ?? 0, index, input.wallAnchor ?? null, attributed))

  const levels: BoundaryLevel[] = BOUNDARIES.map((b) => {
    const l = attributed.levels[b].level
    const idleLevel = idle?.attributed.levels[b].estimate ?? null
    return { ...l, avgW: l.energyJ === null ? null : l.energyJ / windowS, idleW: idleLevel && idle ? idleLevel.value / idle.seconds : null }
  })

  const head = attributed.levels[input.boundary]
  const est = head.estimate
  if (input.meters.length === 0) warnings.push('no power meter was used: energy and efficiency are null (add --meter, e.g. --meter nvml or --meter file:power.csv)')
  else if (est === null) warnings.push(`no energy at the ${input.boundary} boundary: ${head.reason ?? 'no meter there'}`)
  const coverage = head.level.coverage ?? null
  if (est !== null && coverage !== null && coverage < LOW_COVERAGE) warnings.push(`meter readings cover ${(coverage * 100).toFixed(1)} % of the window at the ${input.boundary} boundary; gaps were interpolated and widen the interval`)
  if (windowS > 0 && windowS < 10 && est !== null) warnings.push(`the window is only ${windowS.toFixed(1)} s: counters that update every 20–100 ms and 1-s averages make short windows noisy`)

  const idleEstimate = idle?.attributed.levels[input.boundary].estimate ?? null
  const idleW = idleEstimate && idle ? idleEstimate.value / idle.seconds : null
  if (input.idleWindow && idleW === null && est !== null) warnings.push(`no idle power at the ${input.boundary} boundary: the meters gave no readings in the idle window`)

  let power: PowerSection = {
    boundary: input.boundary,
    avgW: est ? est.value / windowS : null,
    energyJ: est ? est.value : null,
    coverage: est ? coverage : null,
    interval: est ? { low: est.low, high: est.high } : null,
    measured: est ? head.measuredParts : [],
    modeled: est ? head.modeledParts : [],
    meters,
    levels,
    idleW,
    source: est ? head.level.source : null,
    avgWInterval: est && windowS > 0 ? { low: est.low / windowS, high: est.high / windowS } : null,
    windowS,
  }
  // energy per node and per rack, when the meters name several (each through the same attribution)
  const byNode = energyBySite(energies, 'node', input.attribution, windowS, input.defaultNode)
  const byRack = energyBySite(energies, 'rack', input.attribution, windowS)
  if (byNode !== null) power = { ...power, byNode }
  if (byRack !== null) power = { ...power, byRack }
  for (const site of [...(byNode ?? []), ...(byRack ?? [])]) if (site.energyJ === null) warnings.push(`no energy for ${site.name}: ${site.reason ?? 'no meter reads it'}`)

  const provisioned = provisionedPower({ boundary: input.boundary, attribution: input.attribution, meters: input.meters, deviceChannels: attributed.device?.channels ?? [] })
  warnings.push(...provisioned.warnings)
  const efficiency = efficiencySection(input, est, head, idleW, provisioned.watts, provisioned.source, attributed, windowS, warnings)
  return { power, efficiency, warnings: dedupe(warnings) }
}

function meterSummary(
  e: MeterEnergy,
  win: TimeWindowNs,
  idle: MeterEnergy | null,
  idleS: number,
  index: ReturnType<typeof indexSamples>,
  anchor: { atNs: number; wallMs: number } | null,
  attributed: AttributionResult,
): MeterSummary {
  const half = e.halfWidthJ
  const role = e.info.component !== undefined ? 'component' : roleOf(e.info, attributed)
  return {
    id: e.info.id,
    kind: e.info.kind,
    boundary: e.info.boundary,
    measured: !e.info.estimated,
    method: e.method,
    channels: e.channels.map((c) => c.channel),
    samples: e.samples,
    avgW: avgW(e.energyJ, win),
    energyJ: e.energyJ,
    coverage: e.coverage,
    energyInterval: e.energyJ === null ? null : { low: Math.max(0, e.energyJ - half), high: e.energyJ + half },
    idleW: idle && idle.energyJ !== null && idleS > 0 ? idle.energyJ / idleS : null,
    ...(idle && idle.energyJ !== null && idleS > 0 ? { idleWInterval: { low: Math.max(0, (idle.energyJ - idle.halfWidthJ) / idleS), high: (idle.energyJ + idle.halfWidthJ) / idleS } } : {}),
    // a remote meter's own measurement of its clock offset wins over the one read from sample stamps
    clockOffsetMs: e.info.clockOffset?.offsetMs ?? clockOffsetMs(index.get(e.info.id), anchor),
    ...(e.info.clockOffset !== undefined ? { clockOffsetUncertaintyMs: e.info.clockOffset.uncertaintyMs, clockOffsetSource: e.info.clockOffset.source } : {}),
    role,
    ...(e.info.component !== undefined ? { component: e.info.component } : {}),
    description: e.info.description,
    perChannel: e.channels.map((c) => ({
      channel: c.channel,
      method: c.method,
      nested: c.nested,
      energyJ: c.energyJ,
      avgW: avgW(c.energyJ, win),
      interval: { low: Math.max(0, c.energyJ - c.halfWidthJ), high: c.energyJ + c.halfWidthJ },
      coverage: c.coverage,
      samples: c.samples,
      wraps: c.wraps,
      resets: c.resets,
      gaps: c.gaps,
      powerEnergyJ: c.powerEnergyJ,
    })),
  }
}

/** Whether the meter's figure is the one used at its boundary or only a cross-check. */
function roleOf(info: MeterInfo, attributed: AttributionResult): 'primary' | 'cross-check' | 'unused' {
  const used = attributed.levels[info.boundary].level.meters ?? []
  if (used.includes(info.id)) return 'primary'
  return attributed.levels[info.boundary].estimate === null ? 'unused' : 'cross-check'
}

function efficiencySection(
  input: EnergyAnalysisInput,
  est: Estimate | null,
  head: LevelResult,
  idleW: number | null,
  provisionedW: number | null,
  provisionedSource: string | null,
  attributed: AttributionResult,
  windowS: number,
  warnings: string[],
): EfficiencySection {
  const out = input.outputTokens
  const total = input.outputTokens + input.inputTokens
  const durationS = input.durationS
  if (est !== null && out <= 0) warnings.push('no output tokens in the window: per-token energy figures are null')
  if (est !== null && durationS <= 0) warnings.push('the window has no length: rates per MW are null')
  const perJ = (tokens: number, e: Estimate | null): { v: number | null; i: Interval | null } =>
    e === null || tokens <= 0 || e.value <= 0 ? { v: null, i: null } : { v: tokens / e.value, i: { low: tokens / e.high, high: e.low > 0 ? tokens / e.low : Infinity } }
  const jPer = (tokens: number, e: Estimate | null): { v: number | null; i: Interval | null } =>
    e === null || tokens <= 0 ? { v: null, i: null } : { v: e.value / tokens, i: { low: e.low / tokens, high: e.high / tokens } }
  const outPerJ = perJ(out, est)
  const totPerJ = perJ(total, est)
  const jOut = jPer(out, est)
  const jTok = jPer(total, est)
  // tokens/s per MW of measured average draw = tokens/J × 1e6 (the window cancels).
  const outputTokensPerS = durationS > 0 ? out / durationS : null
  const perMW = outPerJ.v === null || outputTokensPerS === null ? null : outPerJ.v * 1e6
  const perProvMW = outputTokensPerS !== null && provisionedW !== null && provisionedW > 0 ? outputTokensPerS / (provisionedW / 1e6) : null
  const idleShare = est && idleW !== null && est.value > 0 ? Math.min(1, (idleW * windowS) / est.value) : null
  const dynamicJ = est && idleW !== null ? Math.max(0, est.value - idleW * windowS) : null

  const byBoundary = BOUNDARIES.map((b) => {
    const l = attributed.levels[b]
    const e = l.estimate
    return {
      boundary: b,
      source: e ? l.level.source : null,
      joulesPerOutputToken: jPer(out, e).v,
      joulesPerOutputTokenInterval: jPer(out, e).i,
      outputTokensPerJoule: perJ(out, e).v,
      outputTokensPerJouleInterval: perJ(out, e).i,
      totalTokensPerJoule: perJ(total, e).v,
    }
  })

  return {
    boundary: input.boundary,
    outputTokensPerJoule: outPerJ.v,
    totalTokensPerJoule: totPerJ.v,
    joulesPerOutputToken: jOut.v,
    joulesPerToken: jTok.v,
    outputTokensPerSPerMW: perMW,
    outputTokensPerSPerProvisionedMW: perProvMW,
    interval: jOut.i,
    measured: est ? head.measuredParts : [],
    modeled: est ? head.modeledParts : [],
    source: est ? head.level.source : null,
    intervals: {
      outputTokensPerJoule: outPerJ.i,
      totalTokensPerJoule: totPerJ.i,
      joulesPerOutputToken: jOut.i,
      joulesPerToken: jTok.i,
      outputTokensPerSPerMW: outPerJ.i ? { low: outPerJ.i.low * 1e6, high: outPerJ.i.high * 1e6 } : null,
    },
    avgW: est && windowS > 0 ? est.value / windowS : null,
    provisionedW,
    provisionedSource,
    idleW,
    idleShare,
    dynamicShare: idleShare === null ? null : 1 - idleShare,
    dynamicJoulesPerOutputToken: dynamicJ !== null && out > 0 ? dynamicJ / out : null,
    byBoundary,
  }
}

function dedupe(xs: readonly string[]): string[] {
  return [...new Set(xs)]
}
