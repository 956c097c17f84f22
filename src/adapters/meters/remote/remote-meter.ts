import type { Clock } from '../../../core/ports.js'
import type { Env } from './secrets.js'

/** What a remote meter needs from the composition root (a subset of the factory's `MeterContext`). */
export interface RemoteMeterDeps {
  readonly clock: Clock
  /** The environment, for the variables the config names (secrets). */
  readonly env: Env
  /** The meter's id in the run. */
  readonly id?: string
}

/** How a remote meter's polling went: failures are data (gaps in the samples), never crashes. */
export interface RemoteMeterHealth {
  readonly polls: number
  readonly failedReads: number
  readonly skippedSlots: number
  /** The last failure, secrets removed. */
  readonly lastError: string | null
}
