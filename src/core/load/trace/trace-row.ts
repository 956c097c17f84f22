/** One request of a trace, whatever the format, with its time in milliseconds on the trace's clock. */
export interface TraceRow {
  /** 1-based line of the file it came from (for messages). */
  readonly line: number
  readonly timestampMs: number
  readonly inputTokens: number
  readonly outputTokens: number
  /** KV-cache block ids: equal ids are equal prompt blocks (Mooncake, Weka). */
  readonly hashIds: readonly number[] | null
  /** Session traces: the session; its requests are replayed in order, each after the previous ended + thinkTimeMs. */
  readonly sessionId: string | null
  readonly thinkTimeMs: number | null
  /** Tokens per hash block when the trace says (a Weka trace's block_size). */
  readonly blockTokens: number | null
  /** Tokenwatt JSONL: an explicit prompt text instead of synthesised words. */
  readonly prompt: string | null
}

/** A bad row: the message already carries the line number. */
export class TraceParseError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`)
  }
}
