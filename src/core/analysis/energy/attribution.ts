/**
 * Attribution up the boundaries `device ⊂ node ⊂ rack ⊂ cluster ⊂ facility` (DESIGN.md §4). The
 * cluster is every node and rack of the run, each counted once: measured by a meter at `cluster`
 * (a site feed for this deployment), else the rack level as it stands, which already adds up the
 * racks and nodes told apart by their labels (no equipment above the racks is modelled).
 *
 * Each level is **measured** when a meter stands there, else **modelled** from the level below with the
 * assumptions of the `attribution:` config, each a value with a range; a modelled level's interval
 * takes the lower level's interval and every assumption's range at once (worst case, since each step
 * is monotone in its inputs). Where a level is measured and could also be modelled, both are kept and
 * compared (`crossCheck`).
 *
 * Never double-counting:
 * - at one boundary, meters reading the same thing are alternatives: at `device` the unit is the
 *   channel (a GPU UUID read by NVML and nvidia-smi counts once), above it the meter's `group`
 *   (default: the boundary); the best alternative is used and the others cross-check it; meters
 *   labelled with different `node`s or `rack`s are different equipment and add up (per node, per rack);
 * - nested channels (`package-0/core`) are never added to their parent (meter-energy.ts);
 * - a meter that reads only a component of its boundary (RAPL's CPU + DRAM) feeds the host-overhead
 *   model, never the boundary's total;
 * - with a PUE measured at the PDU or equipment input (category 2/3), PDU losses are already in the
 *   PUE, so they are taken out before multiplying.
 */
import type { AttributionConfig, Ranged } from '../../config/meters-schema.js'
import { ATTRIBUTION_DEFAULTS, ATTRIBUTION_SOURCES } from '../../config/meters-schema.js'
import type { Boundary } from '../../ports.js'
import type { BoundaryLevel, CrossCheck, Interval } from '../../summary.js'
import type { MeterEnergy } from './meter-energy.js'

/** A figure in J with its interval. */
export interface Estimate {
  readonly value: number
  readonly low: number
  readonly high: number
}

export interface Assumption {
  readonly name: string
  readonly value: number
  readonly low: number
  readonly high: number
  readonly unit: string
  readonly source: string
}

/** One candidate for a unit: a whole meter, or one channel of a device meter. */
interface Candidate {
  readonly meterId: string
  readonly channel: string | null
  readonly energyJ: number
  readonly halfWidthJ: number
  readonly coverage: number
  readonly method: 'counter' | 'trapezoid'
  readonly estimated: boolean
}

/** The figure a set of meters gives at one boundary, after removing overlaps. */
export interface PooledReading {
  readonly estimate: Estimate
  readonly coverage: number
  readonly estimated: boolean
  /** `meterId` or `meterId:channel` of every part used. */
  readonly parts: readonly string[]
  readonly meterIds: readonly string[]
  /** Device channels counted (for provisioned power). */
  readonly channels: readonly string[]
  /** Alternatives that were not used, compared with the one that was. */
  readonly crossChecks: readonly CrossCheck[]
}

export interface LevelResult {
  readonly level: BoundaryLevel
  readonly estimate: Estimate | null
  /** Parts that are measured (`device: nvml`), and assumptions used, along the path to this level. */
  readonly measuredParts: readonly string[]
  readonly modeledParts: readonly string[]
  /** Why the level is null, when it is. */
  readonly reason: string | null
}

export interface AttributionResult {
  readonly levels: Readonly<Record<Boundary, LevelResult>>
  readonly device: PooledReading | null
  readonly warnings: readonly string[]
}

function better(a: Candidate, b: Candidate): boolean {
  if (a.estimated !== b.estimated) return !a.estimated
  if (a.method !== b.method) return a.method === 'counter'
  if (Math.abs(a.coverage - b.coverage) > 0.01) return a.coverage > b.coverage
  const ra = a.energyJ > 0 ? a.halfWidthJ / a.energyJ : Infinity
  const rb = b.energyJ > 0 ? b.halfWidthJ / b.energyJ : Infinity
  return ra < rb
}

function label(c: Candidate): string {
  return c.channel === null ? c.meterId : `${c.meterId}:${c.channel}`
}

/**
 * Pools the meters standing at one boundary (all whole, or all components) into one figure without
 * double counting. `perChannel` makes each top-level channel its own unit (the device boundary).
 */
export function pool(meters: readonly MeterEnergy[], perChannel: boolean, defaultGroup: string): PooledReading | null {
  const units = new Map<string, Candidate[]>()
  const add = (key: string, c: Candidate): void => {
    const list = units.get(key)
    if (list) list.push(c)
    else units.set(key, [c])
  }
  for (const m of meters) {
    if (m.energyJ === null) continue
    const estimated = m.info.estimated
    // meters labelled with different nodes, racks or pools read different equipment: never alternatives
    const where = `${m.info.node ?? ''}|${m.info.rack ?? ''}|${m.info.pool ?? ''}`
    if (perChannel && m.info.group === undefined) {
      for (const ch of m.channels) {
        if (ch.nested) continue
        add(`channel:${where}:${ch.channel}`, { meterId: m.info.id, channel: ch.channel, energyJ: ch.energyJ, halfWidthJ: ch.halfWidthJ, coverage: ch.coverage, method: ch.method, estimated })
      }
    } else {
      add(`group:${where}:${m.info.group ?? defaultGroup}`, { meterId: m.info.id, channel: null, energyJ: m.energyJ, halfWidthJ: m.halfWidthJ, coverage: m.coverage, method: m.method, estimated })
    }
  }
  if (units.size === 0) return null
  let value = 0
  let half = 0
  let coverage = 1
  let estimated = false
  const parts: string[] = []
  const meterIds = new Set<string>()
  const channels: string[] = []
  const crossChecks: CrossCheck[] = []
  for (const list of units.values()) {
    let best = list[0] as Candidate
    for (const c of list) if (better(c, best)) best = c
    value += best.energyJ
    half += best.halfWidthJ
    coverage = Math.min(coverage, best.coverage)
    estimated ||= best.estimated
    parts.push(label(best))
    meterIds.add(best.meterId)
    if (best.channel !== null) channels.push(best.channel)
    for (const other of list) {
      if (other === best || other.energyJ <= 0) continue
      crossChecks.push(crossCheck(`${label(best)} vs ${label(other)}`, best.energyJ, best.halfWidthJ, other.energyJ, other.halfWidthJ))
    }
  }
  return {
    estimate: { value, low: Math.max(0, value - half), high: value + half },
    coverage,
    estimated,
    parts,
    meterIds: [...meterIds],
    channels,
    crossChecks,
  }
}

function crossCheck(against: string, measuredJ: number, measuredHalfJ: number, otherJ: number, otherHalfJ: number): CrossCheck {
  return {
    against,
    measuredJ,
    otherJ,
    otherInterval: { low: Math.max(0, otherJ - otherHalfJ), high: otherJ + otherHalfJ },
    diffRel: otherJ > 0 ? (measuredJ - otherJ) / otherJ : 0,
    consistent: Math.abs(measuredJ - otherJ) <= measuredHalfJ + otherHalfJ,
  }
}

/** An assumption as applied; its source is the documented default's, or says the user set it. */
function assumption(name: string, r: Ranged, unit: string, key: keyof typeof ATTRIBUTION_SOURCES, configPath: string): Assumption {
  const d = ATTRIBUTION_DEFAULTS[key]
  const isDefault = d.value === r.value && d.low === r.low && d.high === r.high
  return { name, value: r.value, low: r.low, high: r.high, unit, source: isDefault ? `default: ${ATTRIBUTION_SOURCES[key]}` : `set in ${configPath}` }
}

function fmtRange(a: Assumption): string {
  return a.low === a.high ? `${a.name} ${a.value}${a.unit === '1' ? '' : ` ${a.unit}`}` : `${a.name} ${a.value} [${a.low}–${a.high}]${a.unit === '1' ? '' : ` ${a.unit}`}`
}

function toInterval(e: Estimate | null): Interval | null {
  return e === null ? null : { low: e.low, high: e.high }
}

/** Everything attribution needs about one window. */
export interface AttributionInput {
  readonly meters: readonly MeterEnergy[]
  readonly config: AttributionConfig
  readonly windowS: number
}

/**
 * Energy at every boundary for one window. Levels that can be neither measured nor modelled are null
 * with the reason.
 */
export function attribute(input: AttributionInput): AttributionResult {
  const { config: cfg, windowS } = input
  const warnings: string[] = []
  const at = (b: Boundary, component: boolean): MeterEnergy[] =>
    input.meters.filter((m) => m.info.boundary === b && (m.info.component !== undefined) === component)

  // ---- device
  const device = pool(at('device', false), true, 'device')
  const deviceLevel = measuredLevel('device', device)
  const results: Partial<Record<Boundary, LevelResult>> = {}
  results.device = deviceLevel ?? nullLevel('device', 'no meter at the device boundary (use nvml, nvidia-smi, amd-smi, or a device-level prometheus/file meter); device energy cannot be modelled down from a larger boundary')
  for (const c of device?.crossChecks ?? []) if (!c.consistent) warnings.push(`device: ${c.against} differ by ${(c.diffRel * 100).toFixed(1)} %, beyond their intervals`)

  // ---- node
  const nodeWhole = pool(at('node', false), false, 'node')
  const hostParts = pool(at('node', true), false, 'host')
  const nodeModel = modelNode(device, hostParts, cfg, windowS, warnings)
  results.node = combine('node', nodeWhole, nodeModel, 'modelled from device + host', warnings)
  if (device && nodeWhole && !nodeWhole.estimated && nodeWhole.estimate.high < device.estimate.low)
    warnings.push('node: the node meter reads less than the device meters alone; they may not cover the same machine, or the node meter reads DC after the PSUs')

  // ---- rack
  const rackWhole = pool(at('rack', false), false, 'rack')
  const rackModel = modelUp(results.node, 'rack', [
    assumption('network share of node', cfg.rack.networkShare, '1', 'rackNetworkShare', 'attribution.rack.networkShare'),
    assumption('PDU efficiency', cfg.rack.pduEfficiency, '1', 'pduEfficiency', 'attribution.rack.pduEfficiency'),
  ], (e, [net, pdu]) => scale(e, (x, side) => (x * (1 + pick(net, side))) / pick(pdu, flip(side))))
  results.rack = combine('rack', rackWhole, rackModel, 'modelled from node', warnings)

  // ---- cluster
  const clusterWhole = pool(at('cluster', false), false, 'cluster')
  const clusterModel = modelUp(results.rack, 'cluster', [], (e) => e)
  results.cluster = combine('cluster', clusterWhole, clusterModel, 'modelled from rack (the racks of the run)', warnings)

  // ---- facility
  const facilityWhole = pool(at('facility', false), false, 'facility')
  const pueCat = cfg.facility.pueCategory
  const facilityAssumptions = [assumption(`PUE (category ${pueCat})`, cfg.facility.pue, '1', 'pue', 'attribution.facility.pue')]
  let facilityModel: LevelResult | null
  if (pueCat === 1) {
    facilityModel = modelUp(results.cluster, 'facility', facilityAssumptions, (e, [pue]) => scale(e, (x, side) => x * pick(pue, side)))
  } else {
    // PUE measured below the PDUs: PDU losses are inside its overhead already; take them out first.
    const pdu = { ...assumption('PDU losses removed (in PUE)', cfg.rack.pduEfficiency, '1', 'pduEfficiency', 'attribution.rack.pduEfficiency'), source: 'PUE categories 2/3 count PDU losses as overhead already (Green Grid WP#49)' }
    facilityModel = modelUp(results.cluster, 'facility', [...facilityAssumptions, pdu], (e, [pue, eff]) => scale(e, (x, side) => x * pick(eff, side) * pick(pue, side)))
  }
  results.facility = combine('facility', facilityWhole, facilityModel, 'modelled from cluster', warnings)

  return { levels: results as Record<Boundary, LevelResult>, device, warnings }
}

type Side = 'low' | 'high' | 'value'
function pick(a: Assumption | undefined, side: Side): number {
  if (!a) return 1
  return side === 'low' ? a.low : side === 'high' ? a.high : a.value
}
function flip(side: Side): Side {
  return side === 'low' ? 'high' : side === 'high' ? 'low' : 'value'
}
function scale(e: Estimate, f: (x: number, side: Side) => number): Estimate {
  return { value: f(e.value, 'value'), low: f(e.low, 'low'), high: f(e.high, 'high') }
}

function measuredLevel(boundary: Boundary, r: PooledReading | null): LevelResult | null {
  if (!r) return null
  const level: BoundaryLevel = {
    boundary,
    source: r.estimated ? 'modeled' : 'measured',
    avgW: null,
    energyJ: r.estimate.value,
    interval: toInterval(r.estimate),
    assumptions: [],
    coverage: r.coverage,
    meters: r.meterIds,
    crossCheck: r.crossChecks[0] ?? null,
  }
  const what = `${boundary}: ${r.parts.join(' + ')}`
  return {
    level,
    estimate: r.estimate,
    measuredParts: r.estimated ? [] : [what],
    modeledParts: r.estimated ? [`${what} (utilisation estimate, not a measurement)`] : [],
    reason: null,
  }
}

function nullLevel(boundary: Boundary, reason: string): LevelResult {
  return {
    level: { boundary, source: 'modeled', avgW: null, energyJ: null, interval: null, assumptions: [], coverage: null, meters: [], crossCheck: null },
    estimate: null,
    measuredParts: [],
    modeledParts: [],
    reason,
  }
}

/** A level modelled from the one below by monotone steps with ranged assumptions. */
function modelUp(below: LevelResult, boundary: Boundary, assumptions: readonly Assumption[], step: (e: Estimate, a: readonly Assumption[]) => Estimate): LevelResult | null {
  if (below.estimate === null) return null
  const estimate = step(below.estimate, assumptions)
  return {
    level: {
      boundary,
      source: 'modeled',
      avgW: null,
      energyJ: estimate.value,
      interval: toInterval(estimate),
      assumptions: assumptions.map((a) => ({ name: a.name, value: a.value, unit: a.unit, source: a.source, low: a.low, high: a.high })),
      coverage: below.level.coverage ?? null,
      meters: below.level.meters ?? [],
      crossCheck: null,
    },
    estimate,
    measuredParts: below.measuredParts,
    modeledParts: [...below.modeledParts, ...assumptions.map((a) => `${boundary}: ${fmtRange(a)}`)],
    reason: null,
  }
}

/** Node = (device + host) / PSU efficiency, host from RAPL (measured CPU + DRAM) or a share. */
function modelNode(device: PooledReading | null, host: PooledReading | null, cfg: AttributionConfig, windowS: number, warnings: string[]): LevelResult | null {
  const useRapl = host !== null && cfg.host.source !== 'share'
  if (cfg.host.source === 'rapl' && host === null) warnings.push('node: attribution.host.source is rapl but no RAPL (component) meter ran; host overhead taken as a share of device power')
  const psu = assumption('PSU efficiency', cfg.psuEfficiency, '1', 'psuEfficiency', 'attribution.psuEfficiency')
  const fixedJ = cfg.host.fixedW * windowS
  const fixed: Assumption[] = cfg.host.fixedW > 0 ? [{ name: 'fixed host power', value: cfg.host.fixedW, low: cfg.host.fixedW, high: cfg.host.fixedW, unit: 'W', source: 'attribution.host.fixedW' }] : []
  const dev: Estimate = device?.estimate ?? { value: 0, low: 0, high: 0 }
  let estimate: Estimate
  let assumptions: Assumption[]
  const measuredParts: string[] = device && !device.estimated ? [`device: ${device.parts.join(' + ')}`] : []
  const modeledParts: string[] = device?.estimated ? [`device: ${device.parts.join(' + ')} (estimate)`] : []
  if (useRapl) {
    const other = assumption('unmetered host share (fans, NIC, storage)', cfg.host.otherShare, '1', 'hostOtherShare', 'attribution.host.otherShare')
    assumptions = [other, ...fixed, psu]
    const h = host.estimate
    const f = (d: number, r: number, side: Side): number => ((d + r) * (1 + pick(other, side)) + fixedJ) / pick(psu, flip(side))
    estimate = { value: f(dev.value, h.value, 'value'), low: f(dev.low, h.low, 'low'), high: f(dev.high, h.high, 'high') }
    measuredParts.push(`node CPU+DRAM: ${host.parts.join(' + ')}`)
    if (!device) modeledParts.push('node: no device meter, node modelled from CPU + DRAM alone (no accelerator power counted)')
  } else {
    if (!device) return null
    const share = assumption('host share of device', cfg.host.shareOfDevice, '1', 'hostShareOfDevice', 'attribution.host.shareOfDevice')
    assumptions = [share, ...fixed, psu]
    const f = (d: number, side: Side): number => (d * (1 + pick(share, side)) + fixedJ) / pick(psu, flip(side))
    estimate = { value: f(dev.value, 'value'), low: f(dev.low, 'low'), high: f(dev.high, 'high') }
  }
  const meters = [...(device?.meterIds ?? []), ...(useRapl ? host.meterIds : [])]
  return {
    level: {
      boundary: 'node',
      source: 'modeled',
      avgW: null,
      energyJ: estimate.value,
      interval: toInterval(estimate),
      assumptions: assumptions.map((a) => ({ name: a.name, value: a.value, unit: a.unit, source: a.source, low: a.low, high: a.high })),
      coverage: Math.min(device?.coverage ?? 1, useRapl ? host.coverage : 1),
      meters,
      crossCheck: null,
    },
    estimate,
    measuredParts,
    modeledParts: [...modeledParts, ...assumptions.map((a) => `node: ${fmtRange(a)}`)],
    reason: null,
  }
}

/**
 * The level's figure: a (non-estimated) meter there wins and the model cross-checks it; else the
 * model; else an estimate meter there. A measured level carries the model's figure as `crossCheck`.
 */
function combine(boundary: Boundary, whole: PooledReading | null, model: LevelResult | null, modelName: string, warnings: string[]): LevelResult {
  const measured = measuredLevel(boundary, whole)
  if (measured && whole && !whole.estimated) {
    let check: CrossCheck | null = measured.level.crossCheck ?? null
    if (model?.estimate) {
      const m = model.estimate
      check = crossCheck(modelName, whole.estimate.value, (whole.estimate.high - whole.estimate.low) / 2, m.value, (m.high - m.low) / 2)
      check = { ...check, otherInterval: { low: m.low, high: m.high } }
      if (!(whole.estimate.value >= m.low && whole.estimate.value <= m.high))
        warnings.push(`${boundary}: measured ${(whole.estimate.value / 1000).toFixed(2)} kJ is outside the ${modelName} range ${(m.low / 1000).toFixed(2)}–${(m.high / 1000).toFixed(2)} kJ (${(check.diffRel * 100).toFixed(1)} %); check the attribution assumptions`)
    }
    return { ...measured, level: { ...measured.level, crossCheck: check } }
  }
  if (model) {
    if (measured && whole?.estimated && model.estimate) {
      const c = crossCheck(`estimate meter ${whole.parts.join(' + ')}`, model.estimate.value, (model.estimate.high - model.estimate.low) / 2, whole.estimate.value, (whole.estimate.high - whole.estimate.low) / 2)
      return { ...model, level: { ...model.level, crossCheck: c } }
    }
    return model
  }
  if (measured) return measured
  return nullLevel(boundary, `no meter at the ${boundary} boundary and nothing below it to model from`)
}
