import { createWriteStream, type WriteStream } from 'node:fs'
import { once } from 'node:events'
import type { MockFaultName } from './mock-config.js'

/** What one write of a response was. */
export type GroundTruthChunkKind = 'role' | 'content' | 'usage' | 'malformed' | 'error' | 'done'

/** One write to the socket: when (both clocks) and what. */
export interface GroundTruthChunk {
  readonly kind: GroundTruthChunkKind
  /** The mock's monotonic clock (ns from its epoch; the injected clock when one was given). */
  readonly atNs: number
  /** Wall clock (Unix ms, sub-millisecond). */
  readonly atWallMs: number
  /** Output tokens the chunk carried (content chunks; 0 otherwise). */
  readonly tokens: number
}

/** How a request ended at the server. */
export type GroundTruthOutcome = 'complete' | 'http_error' | 'disconnected' | 'client_closed' | 'in_progress'

/** Everything the mock did for one request, for checking a client's measurements against. */
export interface GroundTruthRecord {
  /** 1-based number of this request among completion requests (the `every` of fault rules counts these). */
  readonly n: number
  readonly path: string
  readonly model: string
  readonly stream: boolean
  /** The first 120 characters of the prompt (last message for chat), to match records to requests. */
  readonly promptPreview: string
  readonly promptTokens: number
  /** Prompt tokens served from the prefix cache (0 when the cache is off or missed). */
  readonly cachedTokens?: number
  /** The request's `x-*` headers (session affinity, correlation ids), names with key/token/auth/secret left out. */
  readonly headers?: Readonly<Record<string, string>>
  readonly maxTokens: number | null
  /** Output tokens the server planned (and sent, unless a fault cut the stream). */
  readonly plannedTokens: number
  readonly includeUsage: boolean
  readonly continuousUsage: boolean
  readonly faults: readonly MockFaultName[]
  status: number
  /** When the request arrived: its head parsed, before the body is read. */
  readonly receivedAtNs: number
  readonly receivedAtWallMs: number
  headersAtNs: number | null
  headersAtWallMs: number | null
  readonly chunks: GroundTruthChunk[]
  /** Output tokens actually written. */
  tokensSent: number
  finishReason: string | null
  endedAtNs: number | null
  outcome: GroundTruthOutcome
}

/**
 * The mock's ground-truth log: the newest `limit` records in memory (for tests), and optionally every
 * finished record appended to a JSONL file (for users checking their measurement chain).
 */
export class GroundTruthLog {
  private readonly records: GroundTruthRecord[] = []
  private readonly file: WriteStream | null

  constructor(
    private readonly limit: number,
    filePath: string | undefined,
  ) {
    this.file = filePath === undefined ? null : createWriteStream(filePath, { flags: 'a' })
  }

  /** Waits until the log file is open (so a bad path fails at start, not at the first request). */
  async ready(): Promise<void> {
    if (this.file !== null && this.file.pending) await once(this.file, 'ready')
  }

  add(record: GroundTruthRecord): void {
    if (this.limit === 0) return
    this.records.push(record)
    // Trim in batches so a full log costs O(1) per request, not a shift of the whole array.
    if (this.records.length > this.limit + Math.max(1, this.limit >> 3)) this.records.splice(0, this.records.length - this.limit)
  }

  finished(record: GroundTruthRecord): void {
    // Streams cut by the server's own shutdown finish after the file is closed: they are not logged.
    if (this.file !== null && !this.file.writableEnded) this.file.write(`${JSON.stringify(record)}\n`)
  }

  all(): readonly GroundTruthRecord[] {
    return this.records.slice(-this.limit)
  }

  async close(): Promise<void> {
    if (this.file === null || this.file.closed) return
    await new Promise<void>((resolve) => this.file?.end(resolve))
  }
}
