import type { PrometheusMeterOptions, PrometheusPreset } from '../../../core/config/meters-remote-schema.js'
import type { Boundary } from '../../../core/ports.js'
import { mergeSelectors } from '../../../core/config/meter-list.js'

/**
 * What each exporter publishes and how to read it (research/power-sources.md §2, §8): metric names,
 * units, the label that names a channel, and the boundary the readings sit at. Pure data and
 * string handling; no I/O.
 */

export type PowerUnit = 'W' | 'mW' | 'uW' | 'kW'
export type EnergyUnit = 'J' | 'mJ' | 'uJ' | 'kJ' | 'Wh' | 'kWh'

export const WATTS_PER: Record<PowerUnit, number> = { W: 1, mW: 1e-3, uW: 1e-6, kW: 1e3 }
export const JOULES_PER: Record<EnergyUnit, number> = { J: 1, mJ: 1e-3, uJ: 1e-6, kJ: 1e3, Wh: 3600, kWh: 3.6e6 }

export type Labels = Readonly<Record<string, string>>

export interface ResolvedQueries {
  readonly power: { readonly query: string; readonly scaleW: number } | null
  readonly energy: { readonly query: string; readonly scaleJ: number } | null
  /** Older metric names to try when the first ones return nothing (Kepler before v0.10). */
  readonly fallback: { readonly power: string | null; readonly energy: string | null } | null
  readonly boundary: Boundary
  readonly component: string | undefined
  /** The averaging window of the power gauge (ms). */
  readonly averagingWindowMs: number
  readonly accuracyRel: number
  readonly accuracyW: number
  /** The channel a series stands for, before disambiguation. */
  readonly channelOf: (labels: Labels) => string
  readonly description: string
}

/** `{a}` placeholders filled from labels; `{a|b|c}` takes the first label present. */
export function channelTemplate(template: string): (labels: Labels) => string {
  return (labels) =>
    template.replace(/\{([^{}]+)\}/g, (_, alts: string) => {
      for (const name of alts.split('|')) {
        const v = labels[name.trim()]
        if (v !== undefined && v !== '') return v
      }
      return ''
    }) || 'total'
}

/** RAPL zone numbered per socket as the RAPL meter names it (`package-0`), from Kepler's `path` label. */
function keplerZone(labels: Labels): string {
  const zone = labels.zone ?? labels.package ?? 'cpu'
  const socket = /intel-rapl:(\d+)/.exec(labels.path ?? '')?.[1] ?? (labels.package !== undefined ? labels.package : undefined)
  return socket !== undefined && zone !== labels.package ? `${zone}-${socket}` : zone
}

const nodeChannel = (): string => 'node'

interface Preset {
  readonly power: string | null
  readonly powerUnit: PowerUnit
  readonly energy: string | null
  readonly energyUnit: EnergyUnit
  readonly fallbackPower?: string
  readonly fallbackEnergy?: string
  readonly boundary: Boundary
  readonly component?: string
  readonly averagingWindowMs: number
  readonly accuracyRel: number
  readonly accuracyW: number
  readonly channelOf: (labels: Labels) => string
  readonly description: string
}

const PRESETS: Record<Exclude<PrometheusPreset, 'custom'>, Preset> = {
  // dcgm-exporter: the GPU board. Power is the NVML 1-s average on Ampere+ (±5 W per nvidia-smi's
  // documentation); the energy counter is in mJ and resets when the driver reloads.
  dcgm: {
    power: 'DCGM_FI_DEV_POWER_USAGE',
    powerUnit: 'W',
    energy: 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION',
    energyUnit: 'mJ',
    boundary: 'device',
    averagingWindowMs: 1000,
    accuracyRel: 0,
    accuracyW: 5,
    channelOf: channelTemplate('{UUID|uuid|gpu}'),
    description: 'DCGM exporter (GPU board)',
  },
  // Kepler ≥ 0.10: node RAPL package energy (measured; zones overlap, so one zone only). Before 0.10
  // the node counter was kepler_node_package_joules_total.
  kepler: {
    power: 'kepler_node_cpu_watts{zone="package"}',
    powerUnit: 'W',
    energy: 'kepler_node_cpu_joules_total{zone="package"}',
    energyUnit: 'J',
    fallbackEnergy: 'kepler_node_package_joules_total',
    boundary: 'node',
    component: 'cpu',
    averagingWindowMs: 0,
    accuracyRel: 0.05,
    accuracyW: 0,
    channelOf: keplerZone,
    description: 'Kepler node CPU package (RAPL)',
  },
  'kepler-gpu': {
    power: 'kepler_node_gpu_watts',
    powerUnit: 'W',
    energy: 'kepler_node_gpu_joules_total',
    energyUnit: 'J',
    boundary: 'device',
    averagingWindowMs: 0,
    accuracyRel: 0,
    accuracyW: 5,
    channelOf: channelTemplate('{gpu_uuid|gpu}'),
    description: 'Kepler node GPUs',
  },
  // Kepler's experimental platform power: the BMC's reading through Redfish.
  'kepler-platform': {
    power: 'kepler_platform_watts',
    powerUnit: 'W',
    energy: null,
    energyUnit: 'J',
    boundary: 'node',
    averagingWindowMs: 0,
    accuracyRel: 0.05,
    accuracyW: 0,
    channelOf: nodeChannel,
    description: 'Kepler platform power (BMC)',
  },
  // Scaphandre: host power from RAPL (PSYS when present), in µW and µJ.
  scaphandre: {
    power: 'scaph_host_power_microwatts',
    powerUnit: 'uW',
    energy: 'scaph_host_energy_microjoules',
    energyUnit: 'uJ',
    boundary: 'node',
    component: 'cpu+dram',
    averagingWindowMs: 0,
    accuracyRel: 0.05,
    accuracyW: 0,
    channelOf: nodeChannel,
    description: 'Scaphandre host power (RAPL)',
  },
}

const SELECTOR = /^\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{(?:[^{}"]|"(?:[^"\\]|\\.)*")*\})?\s*$/

/** Whether a query is a plain series selector (`name{matchers}`): only those give raw samples. */
export function isBareSelector(query: string): boolean {
  return SELECTOR.test(query)
}

/** Adds label matchers (`{a="b"}`) to a bare selector; expressions are returned unchanged. */
export function withMatchers(query: string, matchers: string | undefined): string {
  if (matchers === undefined) return query
  const m = SELECTOR.exec(query)
  if (!m) return query
  if (matchers.trim().slice(1, -1).trim() === '') return query
  return `${m[1]}${mergeSelectors(m[2], matchers)}`
}

/** The preset with the config's overrides applied. */
export function resolveQueries(o: PrometheusMeterOptions): ResolvedQueries {
  const p = o.preset === 'custom' ? undefined : PRESETS[o.preset]
  const power = o.power ?? (p?.power ? { query: p.power, unit: p.powerUnit } : undefined)
  const energy = o.energy ?? (p?.energy ? { query: p.energy, unit: p.energyUnit } : undefined)
  const usePower = power !== undefined
  const useEnergy = energy !== undefined && o.use !== 'power'
  const fallback = p?.fallbackEnergy !== undefined || p?.fallbackPower !== undefined
    ? { power: p.fallbackPower !== undefined ? withMatchers(p.fallbackPower, o.selector) : null, energy: p.fallbackEnergy !== undefined ? withMatchers(p.fallbackEnergy, o.selector) : null }
    : null
  return {
    power: usePower ? { query: withMatchers(power.query, o.selector), scaleW: WATTS_PER[power.unit] } : null,
    energy: useEnergy ? { query: withMatchers(energy.query, o.selector), scaleJ: JOULES_PER[energy.unit] } : null,
    fallback: o.energy === undefined && o.power === undefined ? fallback : null,
    boundary: p?.boundary ?? 'node',
    component: p?.component,
    averagingWindowMs: p?.averagingWindowMs ?? 0,
    accuracyRel: p?.accuracyRel ?? 0.05,
    accuracyW: p?.accuracyW ?? 0,
    channelOf: o.channel !== undefined ? channelTemplate(o.channel) : (p?.channelOf ?? channelTemplate('{instance|job}')),
    description: p?.description ?? 'Prometheus query',
  }
}

/**
 * Channel names for a set of series: the preset's name, then — where two series would share one —
 * the `instance` (or `node_name`/`Hostname`) prefixed, then a number. Series are keyed by their label
 * set without `__name__`, so a power and an energy series of the same thing get the same channel.
 */
export function assignChannels(seriesLabels: readonly Labels[], channelOf: (l: Labels) => string): Map<string, string> {
  const keyed = new Map<string, Labels>()
  for (const l of seriesLabels) keyed.set(seriesKey(l), l)
  const base = new Map([...keyed].map(([k, l]) => [k, channelOf(l)]))
  const count = (m: Map<string, string>): Map<string, number> => {
    const c = new Map<string, number>()
    for (const v of m.values()) c.set(v, (c.get(v) ?? 0) + 1)
    return c
  }
  let counts = count(base)
  const named = new Map<string, string>()
  for (const [k, ch] of base) {
    const l = keyed.get(k)!
    const host = l.node_name ?? l.Hostname ?? l.hostname ?? l.instance
    named.set(k, (counts.get(ch) ?? 0) > 1 && host !== undefined ? `${host}:${ch}` : ch)
  }
  counts = count(named)
  const seen = new Map<string, number>()
  const out = new Map<string, string>()
  for (const [k, ch] of [...named].sort(([a], [b]) => a.localeCompare(b))) {
    if ((counts.get(ch) ?? 0) > 1) {
      const n = (seen.get(ch) ?? 0) + 1
      seen.set(ch, n)
      out.set(k, `${ch}#${n}`)
    } else out.set(k, ch)
  }
  return new Map([...out].map(([k, ch]) => [k, ch.replace(/\//g, '-')]))
}

/** Identity of a series apart from its metric name (power and energy series of one GPU share it). */
export function seriesKey(labels: Labels): string {
  return Object.keys(labels)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',')
}

/** DCGM's "blank" sentinels (≥ 0x7ffffffffffffff0) and anything non-finite are not readings. */
export function isReading(v: number): boolean {
  return Number.isFinite(v) && Math.abs(v) < 9.2e18
}
