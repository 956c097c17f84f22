import { BenchConfigSchema, type BenchConfig } from '../config/bench-schema.js'
import { ConfigError } from '../errors.js'
import type { KnobValues } from './knob-spec.js'

/**
 * The bench config of one sweep point: the load, engine and workload knobs applied to the sweep's
 * base config (hardware and server knobs change the world, not the config), plus labels naming the
 * sweep and every knob value, so each point is an ordinary stored run.
 */
export function pointConfig(base: BenchConfig, knobs: KnobValues, labels: Readonly<Record<string, string>>): BenchConfig {
  const c = structuredClone(base) as unknown as Record<string, unknown> & { load: Record<string, unknown>; local: Record<string, unknown>; workload: Record<string, unknown> }
  for (const [name, value] of Object.entries(knobs)) {
    if (name === 'concurrency') c.load = { type: 'closed-loop', concurrency: value }
    else if (name === 'rate') {
      const open = base.load.type !== 'closed-loop' ? base.load : null
      c.load = { type: open?.type ?? 'poisson', rate: value, burstiness: open?.burstiness ?? 1, maxConcurrency: open?.maxConcurrency ?? 10_000 }
    } else if (name === 'engine.parallel') c.local.parallel = value
    else if (name === 'engine.threads') c.local.threads = value
    else if (name === 'engine.batch-size') c.local.batchSize = value
    else if (name.startsWith('workload.')) setPath(c.workload, name.slice('workload.'.length).split('.'), value)
  }
  const knobLabels = Object.fromEntries(Object.entries(knobs).map(([k, v]) => [`knob.${k}`, String(v)]))
  c.labels = { ...base.labels, ...labels, ...knobLabels }
  const parsed = BenchConfigSchema.safeParse(c)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new ConfigError(`sweep point ${Object.entries(knobs).map(([k, v]) => `${k}=${v}`).join(',')}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`, { hint: 'a knob value is outside what the bench config allows' })
  }
  return parsed.data
}

function setPath(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = obj
  for (const seg of path.slice(0, -1)) {
    const next = cur[seg]
    if (next === null || typeof next !== 'object') cur[seg] = {}
    cur = cur[seg] as Record<string, unknown>
  }
  const last = path[path.length - 1]
  if (last !== undefined) cur[last] = value
}

/** Whether a knob is applied through the bench config (load, engine, workload). */
export function isConfigKnob(name: string): boolean {
  return name === 'concurrency' || name === 'rate' || name.startsWith('engine.') || name.startsWith('workload.')
}

/** Replaces `{NAME}` in a server command template with knob server.NAME's value. */
export function fillServerTemplate(template: string, knobs: KnobValues): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
    const v = knobs[`server.${name}`]
    if (v === undefined) throw new ConfigError(`sweep.server.command: {${name}} has no knob server.${name}`, { hint: `add --knob server.${name}=V1,V2 or remove {${name}} from the template` })
    return String(v)
  })
}
