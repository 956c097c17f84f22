import type { Clock } from '../../core/ports.js'

/** The environment as the composition root hands it over (adapters never read `process.env`). */
export type MeterEnv = Readonly<Record<string, string | undefined>>

/** What the composition root gives every meter. */
export interface MeterDeps {
  readonly env: MeterEnv
  readonly clock: Clock
  /** Base URL of the run's mock engine, used by `kind: mock` without a `url`. */
  readonly mockBaseUrl?: string
}

/** What one kind's factory receives besides its spec. Factories do no I/O; preflight does. */
export interface MeterContext extends MeterDeps {
  /** The meter's id in the run (unique). */
  readonly id: string
}
