import type { RequestError, TokenSource } from '../../core/records.js'
import { ChunkFacts, scanChunk, StreamScanCache } from './chunk-scanner.js'

const facts = new ChunkFacts()

/**
 * Turns the events of one OpenAI-style completion stream into the facts a RequestRecord keeps: when each
 * content-bearing chunk arrived and how many tokens it carried, the server's usage, the finish reason,
 * and the first protocol error. It runs once per event on the hot path, so it parses each event's JSON
 * exactly once and otherwise only reads a few properties.
 *
 * Content-bearing means: a non-empty `choices[0].delta.content` (chat), `delta.reasoning_content` /
 * `delta.reasoning` (reasoning models stream their thinking as tokens too), `delta.tool_calls`, or a
 * non-empty `choices[0].text` (completions). Role-only, empty and usage-only chunks are not content.
 *
 * Token counts per chunk: when the first content chunk carries `usage` (vLLM
 * `continuous_usage_stats`), each content chunk counts the growth of `usage.completion_tokens` since the
 * previous chunk; otherwise each content chunk counts 1. A usage block that arrives only on the last
 * chunk therefore never lands on one chunk as a lump.
 */
export class StreamRecorder {
  /** Arrival time of the network chunk being parsed; the caller sets it before each push. */
  nowNs = 0
  readonly chunkAtNs: number[] = []
  readonly chunkTokens: number[] = []
  /** `usage.prompt_tokens` as the server last reported it; null when it never did. */
  promptTokens: number | null = null
  /** `usage.completion_tokens` as the server last reported it; null when it never did. */
  completionTokens: number | null = null
  finishReason: string | null = null
  /** Prompt tokens served from the server's prefix cache, when it said (see {@link cachedTokensOf}). */
  cachedTokens: number | null = null
  /** Set to keep the streamed content (every chunk then takes the slow path). */
  captureText = false
  /** The content streamed so far, when `captureText` is set. */
  readonly textParts: string[] = []
  /** `data: [DONE]` arrived. */
  done = false
  error: RequestError | null = null
  /** Content chunks whose token count came from per-chunk usage, and those counted as 1. */
  private chunksWithUsage = 0
  private chunksCounted = 0
  private perChunkMode: boolean | null = null
  private lastCompletionTokens = 0
  /** This stream's repeated chunk bytes, so later chunks scan little more than their content. */
  private readonly scanCache = new StreamScanCache()

  /**
   * Fast path: a one-line event straight from the bytes, read by the validating scanner without
   * decoding or building objects. False (the scanner stepped aside) sends it to {@link onEvent}.
   */
  onEventBytes(buf: Buffer, start: number, end: number, eventType: string): boolean {
    if (this.error !== null) return true
    if (this.captureText || eventType !== '' || !scanChunk(buf, start, end, facts, this.scanCache)) return false
    if (facts.promptTokens >= 0) this.promptTokens = facts.promptTokens
    if (facts.completionTokens >= 0) this.completionTokens = facts.completionTokens
    if (facts.hasChoice) {
      const finish = facts.finishStart >= 0 ? buf.toString('utf8', facts.finishStart, facts.finishEnd) : null
      this.choice(facts.content, facts.completionTokens, finish)
    }
    return true
  }

  /** Handles one SSE event's data (everything but `[DONE]`): the slow path, one `JSON.parse`. */
  onEvent(data: string, eventType: string): void {
    if (this.error !== null) return
    let msg: unknown
    try {
      msg = JSON.parse(data)
    } catch {
      this.fail(`data line is not JSON: ${snippet(data)}`)
      return
    }
    if (typeof msg !== 'object' || msg === null) {
      this.fail(`data line is not a completion chunk: ${snippet(data)}`)
      return
    }
    const chunk = msg as ChunkShape
    const choices = chunk.choices
    if (!Array.isArray(choices) || eventType === 'error') {
      if (chunk.error !== undefined || chunk.object === 'error' || eventType === 'error') {
        this.fail(`server sent an error event mid-stream: ${errorText(chunk)}`)
      } else {
        this.fail(`JSON event is not a completion chunk (no "choices" array): ${snippet(data)}`)
      }
      return
    }
    let usageCompletion = -1
    const usage = chunk.usage
    if (typeof usage === 'object' && usage !== null) {
      if (typeof usage.prompt_tokens === 'number') this.promptTokens = usage.prompt_tokens
      if (typeof usage.completion_tokens === 'number') {
        usageCompletion = usage.completion_tokens
        this.completionTokens = usageCompletion
      }
    }
    const cached = cachedTokensOf(chunk)
    if (cached !== null) this.cachedTokens = cached
    const choice = choices[0] as ChoiceShape | undefined
    if (choice === undefined || choice === null) return
    if (this.captureText) {
      const text = choice.delta?.content ?? choice.text
      if (typeof text === 'string' && text.length > 0) this.textParts.push(text)
    }
    const finish = choice.finish_reason
    this.choice(isContent(choice), usageCompletion, typeof finish === 'string' ? finish : null)
  }

  /** The first choice of a chunk: record a content chunk, its token count and any finish reason. */
  private choice(content: boolean, usageCompletion: number, finish: string | null): void {
    if (content) {
      if (this.perChunkMode === null) this.perChunkMode = usageCompletion >= 0
      let tokens = 1
      if (this.perChunkMode && usageCompletion >= 0) {
        tokens = Math.max(0, usageCompletion - this.lastCompletionTokens)
        this.chunksWithUsage += 1
      } else {
        this.chunksCounted += 1
      }
      this.chunkAtNs.push(this.nowNs)
      this.chunkTokens.push(tokens)
    }
    if (usageCompletion >= 0) this.lastCompletionTokens = usageCompletion
    if (finish !== null) this.finishReason = finish
  }

  onDone(): void {
    this.done = true
  }

  /** Whether the stream reached its end: `[DONE]`, or at least a finish reason. */
  get complete(): boolean {
    return this.done || this.finishReason !== null
  }

  /** Whether the server sent usage at all (per chunk or at the end). */
  get usageSeen(): boolean {
    return this.completionTokens !== null
  }

  /** Whether per-chunk server usage set every content chunk's token count. */
  get perChunkUsage(): boolean {
    return this.chunksWithUsage > 0 && this.chunksCounted === 0
  }

  get tokenSource(): TokenSource {
    if (this.perChunkUsage) return 'server-chunk-usage'
    return this.usageSeen ? 'server-usage' : 'client-count'
  }

  /** Output tokens: the server's usage when it sent any, else the client's count. */
  outputTokens(): number {
    if (this.completionTokens !== null) return this.completionTokens
    let sum = 0
    for (const n of this.chunkTokens) sum += n
    return sum
  }

  private fail(message: string): void {
    this.error = { kind: 'malformed_sse', message }
  }
}

/**
 * Cached prompt tokens of a chunk, in the order servers report them: `usage.prompt_tokens_details
 * .cached_tokens` (OpenAI, vLLM with --enable-prompt-tokens-details, SGLang, recent llama.cpp), then
 * llama.cpp's `timings.cache_n` (llama-server result_timings) and `tokens_cached` (its native
 * /completion). Null when none is a non-negative integer.
 */
export function cachedTokensOf(chunk: ChunkShape): number | null {
  const details = chunk.usage?.prompt_tokens_details
  const fromUsage = typeof details === 'object' && details !== null ? (details as { cached_tokens?: unknown }).cached_tokens : undefined
  for (const v of [fromUsage, (chunk.timings as { cache_n?: unknown } | null | undefined)?.cache_n, chunk.tokens_cached]) {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v
  }
  return null
}

interface ChunkShape {
  readonly choices?: unknown
  readonly usage?: { readonly prompt_tokens?: unknown; readonly completion_tokens?: unknown; readonly prompt_tokens_details?: unknown } | null
  readonly timings?: unknown
  readonly tokens_cached?: unknown
  readonly error?: unknown
  readonly object?: unknown
  readonly message?: unknown
}

interface ChoiceShape {
  readonly delta?: {
    readonly content?: unknown
    readonly reasoning_content?: unknown
    readonly reasoning?: unknown
    readonly tool_calls?: unknown
  } | null
  readonly text?: unknown
  readonly finish_reason?: unknown
}

function isContent(choice: ChoiceShape): boolean {
  const delta = choice.delta
  if (typeof delta === 'object' && delta !== null) {
    const c = delta.content
    if (typeof c === 'string' && c.length > 0) return true
    const r = delta.reasoning_content ?? delta.reasoning
    if (typeof r === 'string' && r.length > 0) return true
    const tools = delta.tool_calls
    if (Array.isArray(tools) && tools.length > 0) return true
  }
  const t = choice.text
  return typeof t === 'string' && t.length > 0
}

function errorText(chunk: ChunkShape): string {
  const e = chunk.error
  if (typeof e === 'string') return snippet(e)
  if (typeof e === 'object' && e !== null) {
    const m = (e as { message?: unknown }).message
    if (typeof m === 'string') return snippet(m)
    return snippet(JSON.stringify(e))
  }
  if (typeof chunk.message === 'string') return snippet(chunk.message)
  return snippet(JSON.stringify(chunk))
}

/** The first 200 characters of a server's text, for error messages. */
export function snippet(text: string, max = 200): string {
  const oneLine = text.replace(/\s+/g, ' ').trim()
  return oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine
}
