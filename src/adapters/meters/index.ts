import type { MeterSpec, MeterSpecOf } from '../../core/config/meters-schema.js'
import { MeterUnavailableError } from '../../core/errors.js'
import type { MeterKind, PowerMeter } from '../../core/ports.js'
import { AmdSmiPowerMeter } from './amd-smi/amd-smi-meter.js'
import { EstimatePowerMeter } from './estimate/estimate-meter.js'
import { FilePowerMeter } from './file/file-meter.js'
import { IpmiPowerMeter } from './ipmi/ipmi-meter.js'
import { MockPowerMeter } from './mock/mock-meter.js'
import { NvidiaSmiPowerMeter } from './nvidia-smi/nvidia-smi-meter.js'
import { NvmlPowerMeter } from './nvml/nvml-meter.js'
import { PrometheusPowerMeter } from './prometheus/prometheus-meter.js'
import { RaplPowerMeter } from './rapl/rapl-meter.js'
import { RedfishPowerMeter } from './redfish/redfish-meter.js'
import { SnmpPowerMeter } from './snmp/snmp-meter.js'
import type { MeterContext, MeterDeps } from './meter-context.js'
import { labelledMeter } from './labelled-meter.js'


type MeterFactories = { readonly [K in MeterKind]: (spec: MeterSpecOf<K>, ctx: MeterContext) => PowerMeter }

/** One line per kind. The mapped type makes a kind without a factory a compile error. */
const METER_FACTORIES: MeterFactories = {
  nvml: (spec, ctx) => new NvmlPowerMeter(spec, ctx),
  'nvidia-smi': (spec, ctx) => new NvidiaSmiPowerMeter(spec, ctx),
  'amd-smi': (spec, ctx) => new AmdSmiPowerMeter(spec, ctx),
  rapl: (spec, ctx) => new RaplPowerMeter(spec, ctx),
  ipmi: (spec, ctx) => new IpmiPowerMeter(spec, ctx),
  redfish: (spec, ctx) => new RedfishPowerMeter(oneTarget(spec, spec.url, 'url'), ctx),
  snmp: (spec, ctx) => new SnmpPowerMeter(oneTarget(spec, spec.host, 'host'), ctx),
  prometheus: (spec, ctx) => new PrometheusPowerMeter(spec, ctx),
  file: (spec, ctx) => new FilePowerMeter(spec, ctx),
  estimate: (spec, ctx) => new EstimatePowerMeter(spec, ctx),
  mock: (spec, ctx) => new MockPowerMeter(spec, ctx),
}

/** A spec of one service: its list form (`targets`) is expanded by the config schema (meter-list.ts) before it gets here. */
function oneTarget<S extends { readonly kind: string; readonly targets?: unknown }, K extends string>(spec: S, value: string | undefined, key: K): Omit<S, K | 'targets'> & Record<K, string> {
  if (value === undefined) throw new MeterUnavailableError(`${spec.kind}: no ${key} (a targets list must be expanded first: parse meters with MeterListSchema)`)
  return { ...spec, [key]: value } as Omit<S, K | 'targets'> & Record<K, string>
}

/**
 * Builds one meter from a validated spec. No I/O happens until `preflight()`.
 *
 * @example
 * const meter = createMeter(MeterSpecSchema.parse({ kind: 'rapl' }), { env: process.env, clock }, 'rapl')
 * await meter.preflight() // throws MeterUnavailableError with a hint when RAPL cannot be read
 */
export function createMeter(spec: MeterSpec, deps: MeterDeps, id?: string): PowerMeter {
  const factory = METER_FACTORIES[spec.kind] as (spec: MeterSpec, ctx: MeterContext) => PowerMeter
  const meter = factory(spec, { ...deps, id: id ?? spec.id ?? spec.kind })
  const labels = { ...(spec.node !== undefined ? { node: spec.node } : {}), ...(spec.rack !== undefined ? { rack: spec.rack } : {}), ...(spec.pool !== undefined ? { pool: spec.pool } : {}) }
  return Object.keys(labels).length > 0 ? labelledMeter(meter, labels) : meter
}

/**
 * Builds every meter of a run. Ids are the spec's `id`, else its kind, numbered when a kind repeats
 * (`nvml`, `nvml-2`); a duplicate explicit id is a config error caught here.
 */
export function createMeters(specs: readonly MeterSpec[], deps: MeterDeps): PowerMeter[] {
  return meterIds(specs).map((id, i) => createMeter(specs[i] as MeterSpec, deps, id))
}

/** The ids `createMeters` gives a list of specs. */
export function meterIds(specs: readonly MeterSpec[]): string[] {
  const used = new Set<string>()
  const ids: string[] = []
  for (const s of specs) {
    let id = s.id ?? s.kind
    if (s.id === undefined) for (let n = 2; used.has(id); n++) id = `${s.kind}-${n}`
    if (used.has(id)) throw new MeterUnavailableError(`two meters have the id "${id}"`, { hint: 'give each meter a distinct id: in the config' })
    used.add(id)
    ids.push(id)
  }
  return ids
}
