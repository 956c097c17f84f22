import type { AttributionConfig } from '../../config/meters-schema.js'
import type { Boundary } from '../../ports.js'
import { attribute } from './attribution.js'
import type { MeterEnergy } from './meter-energy.js'

/** One node's (or rack's) share of a run's energy, through the same attribution as the whole. */
export interface SiteEnergy {
  /** The node or rack label. */
  readonly name: string
  readonly energyJ: number | null
  readonly avgW: number | null
  readonly interval: { readonly low: number; readonly high: number } | null
  /** `measured` by a meter at this boundary, or `modeled` from the device meters below it. */
  readonly source: 'measured' | 'modeled' | null
  /** Meters the figure comes from. */
  readonly meters: readonly string[]
  /** Why the figure is null, when it is. */
  readonly reason: string | null
}

/**
 * Energy per node or per rack (issue 11, the cluster boundary): the meters labelled with each node
 * (`node:`, a Redfish BMC's host, a Prometheus `nodes:` entry; unlabelled host meters count as
 * `defaultNode`) or rack go through the attribution on their own, so a node with a BMC is measured
 * and one with only GPU meters is modelled as the whole run would model it. Meters above the
 * boundary (a rack PDU for nodes) are not split. Null unless the run's meters name at least two.
 *
 * @example
 * energyBySite(energies, 'node', attribution, 60, 'gpu-01') // [{ name: 'gpu-01', energyJ: 61200, ... }, { name: 'gpu-02', ... }]
 */
export function energyBySite(energies: readonly MeterEnergy[], by: 'node' | 'rack', config: AttributionConfig, windowS: number, defaultNode?: string): SiteEnergy[] | null {
  const inside: readonly Boundary[] = by === 'node' ? ['device', 'node'] : ['device', 'node', 'rack']
  const sites = new Map<string, MeterEnergy[]>()
  for (const e of energies) {
    if (!inside.includes(e.info.boundary)) continue
    const name = by === 'node' ? (e.info.node ?? defaultNode) : e.info.rack
    if (name === undefined) continue
    const list = sites.get(name)
    if (list) list.push(e)
    else sites.set(name, [e])
  }
  if (sites.size < 2) return null
  return [...sites.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, meters]) => {
      const l = attribute({ meters, config, windowS }).levels[by]
      const est = l.estimate
      return {
        name,
        energyJ: est?.value ?? null,
        avgW: est !== null && windowS > 0 ? est.value / windowS : null,
        interval: est !== null ? { low: est.low, high: est.high } : null,
        source: est !== null ? l.level.source : null,
        meters: l.level.meters ?? meters.map((m) => m.info.id),
        reason: est === null ? l.reason : null,
      }
    })
}
