/**
 * The raw facts of a run. Every reported figure is recomputable from these, so they are what the
 * store keeps. Times are nanoseconds relative to the run epoch (see units.ts).
 */

/** Why one request failed. Per-request failures are data, never exceptions. */
export type RequestErrorKind =
  | 'http_status' // non-2xx other than 429
  | 'rate_limited' // HTTP 429
  | 'connect' // TCP/TLS connection could not be made
  | 'headers_timeout' // no response headers in time
  | 'idle_timeout' // the stream went quiet for too long
  | 'total_timeout' // the whole request took too long
  | 'stream_cut' // the connection closed before [DONE]/finish
  | 'malformed_sse' // a data line that is not valid JSON / not an OpenAI chunk
  | 'missing_usage' // usage was required but never came
  | 'aborted' // cancelled by the run (Ctrl-C, stop)

export const REQUEST_ERROR_KINDS: readonly RequestErrorKind[] = [
  'http_status',
  'rate_limited',
  'connect',
  'headers_timeout',
  'idle_timeout',
  'total_timeout',
  'stream_cut',
  'malformed_sse',
  'missing_usage',
  'aborted',
]

export interface RequestError {
  readonly kind: RequestErrorKind
  readonly status?: number
  readonly message: string
}

/** Where a request's token counts came from. */
export type TokenSource = 'server-usage' | 'server-chunk-usage' | 'client-count'

export type RequestPhase = 'warmup' | 'measure'

/** One request as it happened. */
export interface RequestRecord {
  /** Sequence number within the run, in send order. */
  readonly seq: number
  readonly phase: RequestPhase
  /** Closed loop: the user (0..N-1); open loop: null. */
  readonly userId: number | null
  /** Open loop: when the schedule said to send; closed loop: null. */
  readonly scheduledAtNs: number | null
  readonly sentAtNs: number
  /** When the response headers arrived; null when they never did. */
  readonly headersAtNs: number | null
  /** Arrival time of each content-bearing chunk, in order. */
  readonly chunkAtNs: readonly number[]
  /** Tokens each content chunk carried (server per-chunk usage, or 1 per chunk when counting). */
  readonly chunkTokens: readonly number[]
  /** Arrival of the last byte of the response; null when nothing arrived. */
  readonly lastByteAtNs: number | null
  readonly targetInputTokens: number | null
  readonly targetOutputTokens: number | null
  /** Prompt tokens as the server reported them (usage), or the client's estimate. */
  readonly inputTokens: number | null
  /** Completion tokens as the server reported them (usage), or the client's chunk count. */
  readonly outputTokens: number | null
  readonly tokenSource: TokenSource
  readonly finishReason: string | null
  readonly error: RequestError | null
  /**
   * Prompt tokens the server served from its prefix cache (`usage.prompt_tokens_details.cached_tokens`
   * of vLLM, SGLang and OpenAI; llama.cpp's `timings.cache_n` / `tokens_cached`); null when it did not say.
   */
  readonly cachedInputTokens?: number | null
  /** Session workloads: which session (task) the request belongs to, 0-based in start order. */
  readonly sessionId?: number
  /** Session workloads: the turn index within its session (0 = first turn). */
  readonly turn?: number
  /** Session workloads: 0 for the turn's main request, 1..k for its fan-out children. */
  readonly branch?: number
  /**
   * The content the server streamed, only when the request asked for it (`captureText`): sessions carry
   * it forward as the assistant turn. Never written to the store.
   */
  readonly responseText?: string
}

/** One reading from a power meter. A meter reports power, a cumulative energy counter, or both. */
export interface PowerSample {
  /** Which meter (its id in the run's meter list). */
  readonly meterId: string
  /** Which channel of that meter (a GPU UUID, a RAPL zone, a PDU outlet, ...). */
  readonly channel: string
  /** Local monotonic time the sample was taken (ns from run epoch). */
  readonly atNs: number
  /** The source's own timestamp, when it gives one (ms since the Unix epoch). */
  readonly sourceTimeMs: number | null
  /** Instant or averaged power (W), when the source reports it. */
  readonly powerW: number | null
  /** Cumulative energy counter (J), when the source has one. */
  readonly energyJ: number | null
}
