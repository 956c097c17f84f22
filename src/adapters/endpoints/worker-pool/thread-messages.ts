import type { ConnectionStats, InferenceRequest } from '../../../core/ports.js'
import type { RequestRecord } from '../../../core/records.js'
import type { OpenAIStreamClientOptions } from '../openai-client.js'

/**
 * What the load threads of `--workers` and the thread that schedules the load say to each other.
 * Everything here is structured-clone data: no functions, no class instances.
 */

/** `workerData` of a load thread: the client options (less the clock) and the run clock's epoch. */
export interface LoadThreadData {
  readonly options: Omit<OpenAIStreamClientOptions, 'clock'>
  readonly epochHr: bigint
  readonly epochWallMs: number
}

export type ToThread =
  /** `postedAtNs`: when the scheduling thread posted it (run clock), so the thread's send lead covers the message. */
  | { readonly type: 'send'; readonly id: number; readonly request: InferenceRequest; readonly postedAtNs: number }
  | { readonly type: 'cancel'; readonly id: number }
  | { readonly type: 'warm'; readonly id: number; readonly connections: number }
  | { readonly type: 'close'; readonly id: number }

export type FromThread =
  /** A finished request, with the thread's send lead now; `stats` only when the thread's connection counts changed since it last sent them. */
  | { readonly type: 'record'; readonly id: number; readonly record: RequestRecord; readonly leadNs: number; readonly stats?: ConnectionStats }
  /** A `warm` or `close` is done. */
  | { readonly type: 'done'; readonly id: number; readonly stats: ConnectionStats }
