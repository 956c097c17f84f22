import { J_PER_KWH, J_PER_WH } from '../../../core/units.js'

/**
 * What one Redfish resource says about power and energy, whatever its shape. Pure: takes the parsed
 * JSON, returns numbers in W and J (normalized here, at the adapter boundary) or null.
 */
export interface RedfishReading {
  readonly powerW: number | null
  readonly energyJ: number | null
  /** The reading's own timestamp (Sensor `ReadingTime`), ms since the Unix epoch. */
  readonly readingTimeMs: number | null
  /** Whether `ReadingTime` carried sub-second digits (else it is only good to a second). */
  readonly readingTimePrecise: boolean
  /** The unit the energy came in: `J`/`Wh` counters are fine-grained, `kWh` ones usually whole kWh. */
  readonly energyUnit: EnergyUnit | null
}

/** Which resource shapes a channel reads. */
export type RedfishShape = 'environment-metrics' | 'sensors' | 'power-subsystem' | 'power' | 'rack-pdu'

/** Unit of the energy a resource reports, before normalization. */
export type EnergyUnit = 'J' | 'Wh' | 'kWh'

type Json = Record<string, unknown>

export function asObject(v: unknown): Json | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined
}

export function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null
}

/** `{"@odata.id": "/redfish/v1/..."}` → the path, else undefined. */
export function link(v: unknown): string | undefined {
  const id = asObject(v)?.['@odata.id']
  return typeof id === 'string' && id.length > 0 ? id : undefined
}

/** Member links of a collection resource. */
export function members(collection: unknown): string[] {
  const m = asObject(collection)?.Members
  return Array.isArray(m) ? m.map(link).filter((x): x is string => x !== undefined) : []
}

/** `Reading` of an excerpt such as `PowerWatts: {Reading: 374}`. */
export function excerptReading(resource: Json | undefined, key: string): number | null {
  return num(asObject(resource?.[key])?.Reading)
}

export function energyToJ(value: number, unit: EnergyUnit): number {
  return unit === 'J' ? value : unit === 'Wh' ? value * J_PER_WH : value * J_PER_KWH
}

/** Which energy unit a Sensor reports: `ReadingUnits` when given (`J`, `W.h`, `kW.h`), else its `ReadingType`. */
export function sensorEnergyUnit(sensor: Json): EnergyUnit | null {
  const units = sensor.ReadingUnits
  if (units === 'J') return 'J'
  if (units === 'W.h' || units === 'Wh') return 'Wh'
  if (units === 'kW.h' || units === 'kWh') return 'kWh'
  const t = sensor.ReadingType
  return t === 'EnergyJoules' ? 'J' : t === 'EnergyWh' ? 'Wh' : t === 'EnergykWh' ? 'kWh' : null
}

export function parseReadingTime(v: unknown): { ms: number | null; precise: boolean } {
  if (typeof v !== 'string') return { ms: null, precise: false }
  const ms = Date.parse(v)
  return Number.isNaN(ms) ? { ms: null, precise: false } : { ms, precise: /T\d\d:\d\d:\d\d\.\d+/.test(v) }
}

/** ISO 8601 duration such as `PT0.25S`, `PT1M` → ms; null when absent or unparsable. */
export function isoDurationMs(v: unknown): number | null {
  if (typeof v !== 'string') return null
  const m = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(v)
  if (!m || v === 'P' || v === 'PT') return null
  const [, d = '0', h = '0', min = '0', s = '0'] = m
  return ((Number(d) * 24 + Number(h)) * 60 + Number(min)) * 60_000 + Number(s) * 1000
}

const NONE: RedfishReading = { powerW: null, energyJ: null, readingTimeMs: null, readingTimePrecise: false, energyUnit: null }

/**
 * EnvironmentMetrics (Chassis), PSU Metrics (PowerSupplyMetrics), Outlet / Circuit and
 * PowerDistributionMetrics all carry the same excerpts: `PowerWatts` (a PSU's `InputPowerWatts`),
 * `EnergyJoules` (device-level, fine-grained) and `EnergykWh` (facility-grade, often whole kWh).
 * Both are returned (joules preferred); whether the counter is fine enough to use is the meter's call.
 */
export function readExcerpts(resource: unknown, powerKey: 'PowerWatts' | 'InputPowerWatts'): RedfishReading {
  const r = asObject(resource)
  if (r === undefined) return NONE
  const joules = excerptReading(r, 'EnergyJoules')
  const kwh = excerptReading(r, 'EnergykWh')
  return {
    powerW: excerptReading(r, powerKey),
    energyJ: joules ?? (kwh !== null ? energyToJ(kwh, 'kWh') : null),
    readingTimeMs: null,
    readingTimePrecise: false,
    energyUnit: joules !== null ? 'J' : kwh !== null ? 'kWh' : null,
  }
}

/** A Sensor resource: power when `ReadingType` is Power, energy when it is an energy type. */
export function readSensor(resource: unknown): RedfishReading {
  const s = asObject(resource)
  if (s === undefined) return NONE
  const reading = num(s.Reading)
  const time = parseReadingTime(s.ReadingTime)
  const base = { readingTimeMs: time.ms, readingTimePrecise: time.precise }
  if (s.ReadingType === 'Power') return { powerW: reading, energyJ: null, ...base, energyUnit: null }
  const unit = sensorEnergyUnit(s)
  if (unit === null || reading === null) return { powerW: null, energyJ: null, ...base, energyUnit: null }
  return { powerW: null, energyJ: energyToJ(reading, unit), ...base, energyUnit: unit }
}

/**
 * Legacy `Power`: the chassis' consumed watts from the first `PowerControl` entry that has one
 * (entries after it are usually sub-domains of the same supply, so they are never added).
 */
export function readLegacyPower(resource: unknown): RedfishReading {
  const pc = asObject(resource)?.PowerControl
  if (!Array.isArray(pc)) return NONE
  for (const entry of pc) {
    const w = num(asObject(entry)?.PowerConsumedWatts)
    if (w !== null) return { powerW: w, energyJ: null, readingTimeMs: null, readingTimePrecise: false, energyUnit: null }
  }
  return NONE
}

/** Merges the power of one reading with the energy of another (a power sensor + an energy sensor). */
export function mergeReadings(power: RedfishReading, energy: RedfishReading | undefined): RedfishReading {
  if (energy === undefined) return power
  return {
    powerW: power.powerW,
    energyJ: energy.energyJ,
    energyUnit: energy.energyUnit,
    readingTimeMs: power.readingTimeMs ?? energy.readingTimeMs,
    readingTimePrecise: power.readingTimeMs !== null ? power.readingTimePrecise : energy.readingTimePrecise,
  }
}
