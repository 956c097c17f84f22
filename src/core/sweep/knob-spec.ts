import { ConfigError } from '../errors.js'

/** One knob of a sweep and the values it takes (in order). */
export interface KnobAxis {
  readonly name: string
  readonly values: readonly number[]
}

const NAME = /^(concurrency|rate|gpu\.power-limit-w|gpu\.sm-clock-mhz|gpu\.power-profile|cpu\.power-limit-w|cpu\.max-freq-khz|engine\.(parallel|threads|batch-size)|server\.[A-Za-z_][A-Za-z0-9_]*|workload\.[A-Za-z][A-Za-z0-9.]*)$/
const MAX_VALUES = 1000

/**
 * Parses `NAME=V1,V2,…` or `NAME=LO:HI:STEP` (inclusive of HI when the steps land on it).
 * Throws a one-line ConfigError for anything else.
 */
export function parseKnobSpec(spec: string): KnobAxis {
  const eq = spec.indexOf('=')
  const hint = 'write --knob NAME=V1,V2,… or --knob NAME=LO:HI:STEP, e.g. --knob gpu.power-limit-w=300:700:100'
  if (eq <= 0) throw new ConfigError(`--knob ${spec}: expected NAME=VALUES`, { hint })
  const name = spec.slice(0, eq).trim()
  const body = spec.slice(eq + 1).trim()
  checkKnobName(name)
  const range = /^(-?[\d.]+):(-?[\d.]+):([\d.]+)$/.exec(body)
  if (range) return { name, values: rangeValues(name, Number(range[1]), Number(range[2]), Number(range[3])) }
  const values = body.split(',').map((v) => Number(v.trim()))
  if (values.length === 0 || values.some((v) => !Number.isFinite(v)) || body === '') throw new ConfigError(`--knob ${spec}: values must be numbers`, { hint })
  return { name, values: dedupe(values) }
}

export function checkKnobName(name: string): void {
  if (!NAME.test(name)) {
    throw new ConfigError(`knob ${name}: unknown knob name`, {
      hint: 'knobs: concurrency, rate, gpu.power-limit-w, gpu.sm-clock-mhz, cpu.power-limit-w, engine.parallel, engine.threads, server.NAME, workload.FIELD',
    })
  }
}

export function rangeValues(name: string, lo: number, hi: number, step: number): number[] {
  if (!(step > 0) || !(hi >= lo)) throw new ConfigError(`knob ${name}: range ${lo}:${hi}:${step} needs LO ≤ HI and STEP > 0`, { hint: 'e.g. 300:700:100' })
  const n = Math.floor((hi - lo) / step + 1e-9) + 1
  if (n > MAX_VALUES) throw new ConfigError(`knob ${name}: ${n} values is more than ${MAX_VALUES}`, { hint: 'use a coarser step' })
  return Array.from({ length: n }, (_, i) => Number((lo + i * step).toPrecision(12)))
}

function dedupe(values: readonly number[]): number[] {
  return [...new Set(values)]
}

/** Number of points of the full grid (product of the axes). */
export function gridSize(axes: readonly KnobAxis[]): number {
  return axes.reduce((n, a) => n * a.values.length, 1)
}

/** A point's knob values, by knob name, in the axes' order. */
export type KnobValues = Readonly<Record<string, number>>

/** Stable key of a point (`concurrency=4,gpu.power-limit-w=300`). */
export function pointKey(knobs: KnobValues): string {
  return Object.keys(knobs)
    .sort()
    .map((k) => `${k}=${knobs[k]}`)
    .join(',')
}

export function valuesAt(axes: readonly KnobAxis[], index: readonly number[]): KnobValues {
  const out: Record<string, number> = {}
  axes.forEach((a, i) => (out[a.name] = a.values[index[i] ?? 0] as number))
  return out
}

/** Every point of the grid, the last axis varying fastest. */
export function gridIndices(axes: readonly KnobAxis[]): number[][] {
  let out: number[][] = [[]]
  for (const a of axes) out = out.flatMap((prefix) => a.values.map((_, i) => [...prefix, i]))
  return out
}
