/**
 * A metric definition: data, not a docstring. The id is public API forever (snake_case); the unit
 * lives here, not in the id. `summaryPath` says where the value sits in `tokenwatt.run/v1`, so
 * `verify`, `compare` and the generated docs/metrics.md all read from one place.
 */
export type MetricKind =
  /** One value per request, aggregated into mean/p50/…/max. */
  | 'distribution'
  /** One value per run (a count, a rate over the window). */
  | 'aggregate'
  /** Computed from other metrics. */
  | 'derived'

export interface MetricDef {
  readonly id: string
  readonly title: string
  readonly kind: MetricKind
  /** Unit of the stored value, e.g. 'ms', 'tokens/s', 'J/token', '1' for a ratio. */
  readonly unit: string
  readonly better: 'lower' | 'higher' | 'none'
  /** Dotted path in RunSummary; for distributions, the Stats object. */
  readonly summaryPath: string
  /** Other metric ids this one is computed from. */
  readonly requires?: readonly string[]
  readonly doc: {
    readonly summary: string
    readonly formula: string
    readonly notes?: readonly string[]
  }
}

export function defineMetric<const T extends MetricDef>(def: T): T {
  return def
}
