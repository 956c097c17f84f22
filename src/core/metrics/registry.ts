import type { MetricDef } from './define-metric.js'

export interface MetricRegistry {
  readonly all: readonly MetricDef[]
  get(id: string): MetricDef | undefined
}

export interface RegistryProblem {
  readonly id: string
  readonly problem: string
}

/**
 * Builds a registry from an explicit list (no import-time discovery) and returns the problems it
 * finds — duplicate ids, ids that are not snake_case, missing dependencies, dependency cycles —
 * instead of throwing, so a test can assert the shipped registry is clean.
 */
export function createMetricRegistry(defs: readonly MetricDef[]): { registry: MetricRegistry; problems: RegistryProblem[] } {
  const problems: RegistryProblem[] = []
  const byId = new Map<string, MetricDef>()
  for (const d of defs) {
    if (!/^[a-z][a-z0-9_]*$/.test(d.id)) problems.push({ id: d.id, problem: 'id must be snake_case' })
    if (byId.has(d.id)) problems.push({ id: d.id, problem: 'duplicate id' })
    byId.set(d.id, d)
  }
  for (const d of defs) for (const r of d.requires ?? []) if (!byId.has(r)) problems.push({ id: d.id, problem: `requires unknown metric ${r}` })
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (id: string, path: string[]): void => {
    if (state.get(id) === 'done') return
    if (state.get(id) === 'visiting') {
      problems.push({ id, problem: `dependency cycle: ${[...path, id].join(' -> ')}` })
      return
    }
    state.set(id, 'visiting')
    for (const r of byId.get(id)?.requires ?? []) if (byId.has(r)) visit(r, [...path, id])
    state.set(id, 'done')
  }
  for (const d of defs) visit(d.id, [])
  return { registry: { all: defs, get: (id) => byId.get(id) }, problems }
}

/** Reads a dotted path out of a summary; undefined when a segment is missing. */
export function readPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj
  for (const seg of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<string, unknown>)[seg]
  }
  return cur
}
