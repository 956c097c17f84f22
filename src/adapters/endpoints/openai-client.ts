import { setImmediate as nextLoopTurn } from 'node:timers/promises'
import { Pool, buildConnector } from 'undici'
import type { Dispatcher } from 'undici'
import { ConfigError, PreflightError } from '../../core/errors.js'
import type { ChunkTimestamps, Clock, ConnectionStats, InferenceClient, InferenceRequest, TargetInfo } from '../../core/ports.js'
import type { RequestError, RequestPhase, RequestRecord } from '../../core/records.js'
import { NodeClock } from '../clock/node-clock.js'
import { parseEndpointUrl, type EndpointUrl } from './base-url.js'
import { chooseStamps, type ChunkStampMode } from './rx-stamps/choose-stamps.js'
import { authError, unreachableError } from './preflight-errors.js'
import { buildRequestBody, type ApiKind, type BodyOptions } from './request-body.js'
import { SendLead } from './send-lead.js'
import { StreamExchange } from './stream-exchange.js'
import { snippet } from './stream-recorder.js'

export interface ClientTimeouts {
  /** TCP (and TLS) connection set-up. */
  readonly connectMs: number
  /** From sending the request to the response headers. */
  readonly headersMs: number
  /** Longest silence allowed between two pieces of the body. */
  readonly idleMs: number
  /** The whole request, send to last byte. */
  readonly totalMs: number
}

export const DEFAULT_TIMEOUTS: ClientTimeouts = { connectMs: 10_000, headersMs: 60_000, idleMs: 60_000, totalMs: 600_000 }

export interface OpenAIStreamClientOptions {
  /** Server base URL, with or without the trailing `/v1`. */
  readonly baseUrl: string
  /** Model to request; absent: the first model the server lists (found by `preflight()`). */
  readonly model?: string | null
  readonly api?: ApiKind
  /** The key itself (the CLI reads it from the environment). Sent as a Bearer token; never logged or recorded. */
  readonly apiKey?: string | null
  /** Name of the variable the key came from, used only in hints. */
  readonly apiKeyEnv?: string
  /** Extra headers for every request. */
  readonly headers?: Readonly<Record<string, string>>
  readonly ignoreEos?: boolean
  readonly minTokens?: boolean
  readonly extraBody?: Readonly<Record<string, unknown>>
  /** Ask for usage on every chunk (vLLM `continuous_usage_stats`). */
  readonly continuousUsage?: boolean
  /** A stream that ends without server usage is a failure (`missing_usage`). */
  readonly requireUsage?: boolean
  readonly timeouts?: Partial<ClientTimeouts>
  /** Timestamps of every record; defaults to a fresh NodeClock. Pass the run's clock. */
  readonly clock?: Clock
  /**
   * Cap on open connections (give at least the concurrency); default none: one per concurrent request,
   * since pipelining is 1. A request beyond the cap waits in the pool, and that wait counts in its TTFT.
   */
  readonly connections?: number | null
  /**
   * How chunks are stamped: `auto` (default) with the kernel's receive time on plain-HTTP connections
   * where the host allows it (Linux, x86-64 or arm64, glibc), else when read; `kernel` insists (an
   * error names why it cannot); `read` stamps when undici hands over each read, as before.
   */
  readonly chunkStamps?: ChunkStampMode
  /**
   * Send `stream_options` (default true). A copy of a preflighted client passes `negotiated()`'s value,
   * so a server that rejected it is not asked again.
   */
  readonly streamOptions?: boolean
}

/** What `preflight()` settled about the server, for clients that share its work without a second preflight. */
export interface NegotiatedOptions {
  readonly model: string | null
  readonly streamOptions: boolean
}

/** Facts about one exchange that the record does not keep but preflight needs. */
interface ExchangeInfo {
  status: number | null
  contentType: string | null
  server: string | null
  serverPromptTokens: number | null
  perChunkUsage: boolean
  usageSeen: boolean
}

type TokenizeShape = 'vllm' | 'llamacpp'

/** What a record copies from its request, and the per-request choices of the exchange. */
interface ExchangeMeta {
  readonly seq: number
  readonly phase: RequestPhase
  readonly userId: number | null
  readonly scheduledAtNs: number | null
  readonly session?: { readonly sessionId: number; readonly turn: number; readonly branch: number }
  readonly captureText?: boolean
  readonly headers?: Readonly<Record<string, string>>
}

function lowerCaseKeys(h: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = v
  return out
}

const PROBE_META = { seq: -1, phase: 'warmup' as RequestPhase, userId: null, scheduledAtNs: null }

/**
 * The {@link InferenceClient} for OpenAI-compatible servers (vLLM, SGLang, TGI, llama.cpp, Ollama,
 * TensorRT-LLM, NIM): streaming chat or completions over SSE on one undici `Pool` with keep-alive and
 * pipelining 1, so concurrency N uses N warm connections and connection set-up stays out of TTFT.
 *
 * Plain-HTTP connections are StampedSockets where the host allows it (see rx-stamps/): each read
 * carries the kernel's receive time, so a chunk's stamp does not include the wait for this thread.
 * The hot path per body chunk (straight from undici's HTTP parser, see StreamExchange) is that stamp
 * (or one clock read), a byte-level SSE split, an allocation-free validating scan of the chunk's JSON (one
 * `JSON.parse` only for unusual lines) and two array pushes. `sentAtNs` is when undici writes the
 * request to its connection, so neither pool queueing nor connection set-up counts as TTFT.
 * `send()` never rejects: every failure is an error kind in the returned record.
 *
 * @example
 * const client = new OpenAIStreamClient({ baseUrl: 'http://127.0.0.1:8000', model: 'mock', clock })
 * const target = await client.preflight()
 * await client.warmConnections(256)
 * const record = await client.send({ seq: 0, phase: 'measure', userId: 0, scheduledAtNs: null,
 *   text: 'Hello', messages: null, maxTokens: 128, targetInputTokens: null })
 * await client.close()
 */
export class OpenAIStreamClient implements InferenceClient {
  readonly chunkTimestamps: ChunkTimestamps
  readonly endpoint: EndpointUrl
  readonly api: ApiKind
  private model: string | null
  private readonly clock: Clock
  private readonly timeouts: ClientTimeouts
  private readonly apiKey: string | null
  private readonly apiKeyEnv: string
  private readonly requireUsage: boolean
  private bodyOptions: BodyOptions
  private readonly postHeaders: Record<string, string>
  private readonly getHeaders: Record<string, string>
  private readonly pool: Pool
  private readonly requestPath: string
  private tokenizeShape: TokenizeShape | null | undefined = undefined
  private opened = 0
  private connectErrors = 0
  private staleRetries = 0
  private readonly connectMs: number[] = []
  private readonly lead = new SendLead()
  /** Bodies serialized ahead by `prepare()`, until their request is sent. */
  private readonly prepared = new WeakMap<InferenceRequest, Buffer>()

  constructor(options: OpenAIStreamClientOptions) {
    this.endpoint = parseEndpointUrl(options.baseUrl)
    this.api = options.api ?? 'chat'
    this.model = options.model ?? null
    this.clock = options.clock ?? new NodeClock()
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts }
    this.apiKey = options.apiKey ?? null
    this.apiKeyEnv = options.apiKeyEnv ?? 'OPENAI_API_KEY'
    this.requireUsage = options.requireUsage ?? false
    this.bodyOptions = {
      api: this.api,
      model: this.model ?? '',
      streamOptions: options.streamOptions ?? true,
      continuousUsage: options.continuousUsage ?? false,
      ignoreEos: options.ignoreEos ?? false,
      minTokens: options.minTokens ?? false,
      extraBody: options.extraBody ?? {},
    }
    try {
      JSON.stringify(this.bodyOptions.extraBody)
    } catch (cause) {
      throw new ConfigError('target.extraBody cannot be sent as JSON', { hint: 'give plain JSON values (strings, numbers, booleans, lists, mappings)', cause })
    }
    if (options.connections != null && !(Number.isInteger(options.connections) && options.connections > 0)) {
      throw new ConfigError(`connections must be a positive whole number, not ${options.connections}`)
    }
    const common: Record<string, string> = {}
    if (this.apiKey !== null && this.apiKey !== '') common.authorization = `Bearer ${this.apiKey}`
    // Header names are case-insensitive: lower-case the user's so theirs replace ours instead of doubling them.
    for (const [name, value] of Object.entries(options.headers ?? {})) common[name.toLowerCase()] = value
    this.getHeaders = { accept: 'application/json', ...common }
    this.postHeaders = { 'content-type': 'application/json', accept: 'text/event-stream', ...common }
    this.requestPath = `${this.endpoint.apiPath}/${this.api === 'chat' ? 'chat/completions' : 'completions'}`

    const tcpConnect = buildConnector({ timeout: this.timeouts.connectMs, keepAlive: true })
    const stamps = chooseStamps(options.chunkStamps ?? 'auto', this.endpoint.origin, this.clock, this.timeouts.connectMs, tcpConnect)
    this.chunkTimestamps = stamps.timestamps
    const connect = stamps.connect
    // Set-up time is measured around the connector itself: exact per connection, scoped to this pool.
    const timedConnect: buildConnector.connector = (opts, callback) => {
      const startNs = this.clock.nowNs()
      connect(opts, (...args) => {
        if (args[0] === null) {
          this.opened += 1
          this.connectMs.push((this.clock.nowNs() - startNs) / 1e6)
        } else {
          this.connectErrors += 1
        }
        callback(...args)
      })
    }
    this.pool = new Pool(this.endpoint.origin, {
      connections: options.connections ?? null,
      pipelining: 1,
      connect: timedConnect,
      headersTimeout: this.timeouts.headersMs,
      bodyTimeout: this.timeouts.idleMs,
    })
  }

  /** The model and request options `preflight()` settled on (worker threads copy them). */
  negotiated(): NegotiatedOptions {
    return { model: this.model, streamOptions: this.bodyOptions.streamOptions }
  }

  /** The model requests go to (after `preflight()`, the one it picked when none was given). */
  get modelName(): string | null {
    return this.model
  }

  /**
   * `handedAtNs`: when the request was handed over, if before this call (a load thread passes the
   * instant the scheduling thread posted it, so the lead covers the message too).
   */
  async send(request: InferenceRequest, signal?: AbortSignal, handedAtNs = this.clock.nowNs()): Promise<RequestRecord> {
    const at = request.scheduledAtNs
    // handed over earlier than the lead: wait here, without holding the event loop, until it is time
    if (at !== null && at - this.clock.nowNs() > this.lead.ns) {
      await this.clock.sleepUntil(at - this.lead.ns, signal)
      handedAtNs = this.clock.nowNs()
    }
    const meta: ExchangeMeta = {
      seq: request.seq,
      phase: request.phase,
      userId: request.userId,
      scheduledAtNs: request.scheduledAtNs,
      ...(request.session !== undefined ? { session: request.session } : {}),
      ...(request.captureText === true ? { captureText: true } : {}),
      ...(request.headers !== undefined ? { headers: request.headers } : {}),
    }
    const body = this.prepared.get(request) ?? buildRequestBody(this.bodyOptions, request)
    this.prepared.delete(request)
    return this.exchange(body, meta, request.targetInputTokens, request.maxTokens, signal, null, true, handedAtNs)
  }

  sendLeadNs(): number {
    return this.lead.ns
  }

  /** The body as bytes: undici would otherwise encode a string body when the request is sent. */
  prepare(request: InferenceRequest): void {
    this.prepared.set(request, Buffer.from(buildRequestBody(this.bodyOptions, request)))
  }

  connectionStats(): ConnectionStats {
    return { opened: this.opened, connectMs: [...this.connectMs], connectErrors: this.connectErrors, staleRetries: this.staleRetries }
  }

  /**
   * Opens up to `n` keep-alive connections by sending `n` concurrent `GET /v1/models` (cheap on every
   * server), so connection set-up happens before the measured window. Failures are only counted.
   */
  async warmConnections(n: number): Promise<void> {
    const path = `${this.endpoint.apiPath}/models`
    const one = async (): Promise<void> => {
      try {
        const res = await this.pool.request({ method: 'GET', path, headers: this.getHeaders })
        await res.body.dump()
        await nextLoopTurn()
      } catch {
        // counted by the connector (connectErrors); a warm-up failure is not a run failure
      }
    }
    await Promise.all(Array.from({ length: Math.max(0, Math.floor(n)) }, one))
  }

  async close(): Promise<void> {
    const timer = setTimeout(() => void this.pool.destroy().catch(() => undefined), 5_000)
    try {
      await this.pool.close()
    } catch {
      // already closed or destroyed
    } finally {
      clearTimeout(timer)
    }
  }

  // ---------------------------------------------------------------- the streaming exchange (hot path)

  private async exchange(
    body: string | Buffer,
    meta: ExchangeMeta,
    targetInputTokens: number | null,
    targetOutputTokens: number | null,
    signal: AbortSignal | undefined,
    info: ExchangeInfo | null,
    retryable = true,
    handedAtNs: number | null = null,
  ): Promise<RequestRecord> {
    const ex = new StreamExchange(this.clock, this.requireUsage, signal)
    if (meta.scheduledAtNs !== null && handedAtNs !== null) ex.scheduleWrite(meta.scheduledAtNs, handedAtNs, this.lead)
    if (meta.captureText === true) ex.rec.captureText = true
    const headers = meta.headers === undefined ? this.postHeaders : { ...this.postHeaders, ...lowerCaseKeys(meta.headers) }
    if (signal?.aborted === true) {
      ex.sentAtNs = this.clock.nowNs()
      ex.abort('aborted')
    } else {
      ex.start(this.timeouts.totalMs)
      try {
        this.pool.dispatch(
          { origin: this.endpoint.origin, method: 'POST', path: this.requestPath, headers, body, headersTimeout: this.timeouts.headersMs, bodyTimeout: this.timeouts.idleMs },
          ex,
        )
      } catch (err) {
        ex.onResponseError(null, err instanceof Error ? err : new Error(String(err)))
      }
    }
    await ex.done
    // A server may close a keep-alive connection after a response without saying so (upstream
    // llama-server does after every stream). A request written to such a socket fails before any
    // response byte: the server never saw it. Resend it once, as browsers do; count it.
    if (retryable && ex.headersAtNs === null && ex.error?.kind === 'stream_cut' && signal?.aborted !== true) {
      this.staleRetries++
      return this.exchange(body, meta, targetInputTokens, targetOutputTokens, signal, info, false)
    }
    // undici hands a keep-alive socket back to the pool one loop turn after a response ends
    // (pipelining 1). Resolving after that turn lets a closed-loop user's next request reuse its
    // connection instead of opening a new one inside the measured window. No timestamp moves.
    if (ex.headersAtNs !== null) await nextLoopTurn()
    const rec = ex.rec
    if (info !== null) {
      info.status = ex.status
      info.contentType = ex.contentType
      info.server = ex.server
      info.serverPromptTokens = rec.promptTokens
      info.perChunkUsage = rec.perChunkUsage
      info.usageSeen = rec.usageSeen
    }
    const error = ex.error
    return {
      seq: meta.seq,
      phase: meta.phase,
      userId: meta.userId,
      scheduledAtNs: meta.scheduledAtNs,
      sentAtNs: ex.sentAtNs,
      headersAtNs: ex.headersAtNs,
      chunkAtNs: rec.chunkAtNs,
      chunkTokens: rec.chunkTokens,
      lastByteAtNs: ex.lastByteAtNs,
      targetInputTokens,
      targetOutputTokens,
      inputTokens: rec.promptTokens ?? targetInputTokens,
      outputTokens: ex.headersAtNs === null ? null : rec.outputTokens(),
      tokenSource: rec.tokenSource,
      finishReason: rec.finishReason,
      error: error === null ? null : { ...error, message: this.redact(error.message) },
      ...(rec.cachedTokens !== null ? { cachedInputTokens: rec.cachedTokens } : {}),
      ...(meta.session !== undefined ? { sessionId: meta.session.sessionId, turn: meta.session.turn, branch: meta.session.branch } : {}),
      ...(meta.captureText === true ? { responseText: rec.textParts.join('') } : {}),
    }
  }

  private redact(message: string): string {
    if (this.apiKey === null || this.apiKey.length < 4) return message
    return message.split(this.apiKey).join('***')
  }

  // ---------------------------------------------------------------- preflight and helpers

  /**
   * Checks the target before any load: lists the models (and picks or checks the model), sends one tiny
   * streaming request (max_tokens 2) to see that the server streams SSE and whether it reports usage
   * (and per-chunk usage), then looks for a tokenize endpoint. Every failure is a PreflightError whose
   * hint says what to change.
   */
  async preflight(signal?: AbortSignal): Promise<TargetInfo> {
    const modelsUrl = `${this.endpoint.baseUrl}/models`
    let listed: string[] = []
    let models: JsonReply
    try {
      models = await this.jsonRequest('GET', `${this.endpoint.apiPath}/models`, null, signal)
    } catch (err) {
      throw unreachableError(modelsUrl, err)
    }
    let server = models.server
    if (models.status === 401 || models.status === 403) throw authError(modelsUrl, models.status, snippet(models.text), this.apiKeyEnv, this.apiKey !== null)
    if (models.status >= 200 && models.status < 300) {
      listed = modelIds(models.json)
    } else if (models.status !== 404 && models.status !== 405) {
      throw new PreflightError(`GET ${modelsUrl} answered HTTP ${models.status}: ${snippet(models.text) || '(empty body)'}`, {
        hint: 'is --endpoint the base URL of an OpenAI-compatible server?',
      })
    }
    this.model = pickModel(this.model, listed, modelsUrl)
    this.bodyOptions = { ...this.bodyOptions, model: this.model }

    const probe = await this.probeStream(signal)
    if (probe.info.server !== null) server = probe.info.server
    const tokenizeEndpoint = (await this.detectTokenize()) === null ? null : `${this.endpoint.origin}${this.endpoint.rootPath}/tokenize`
    return {
      baseUrl: this.endpoint.baseUrl,
      model: this.model,
      modelsListed: listed,
      server,
      streamsUsage: probe.info.usageSeen,
      perChunkUsage: probe.info.perChunkUsage,
      tokenizeEndpoint,
    }
  }

  private async probeStream(signal: AbortSignal | undefined): Promise<{ record: RequestRecord; info: ExchangeInfo }> {
    const url = `${this.endpoint.origin}${this.requestPath}`
    const request: InferenceRequest = { ...PROBE_META, text: 'Hello', messages: null, maxTokens: 2, targetInputTokens: null }
    for (let attempt = 0; ; attempt++) {
      const info = newInfo()
      const record = await this.exchange(buildRequestBody(this.bodyOptions, request), PROBE_META, null, 2, signal, info)
      const e = record.error
      if (e === null) return { record, info }
      if (e.kind === 'http_status' && (e.status === 401 || e.status === 403)) throw authError(url, e.status, e.message, this.apiKeyEnv, this.apiKey !== null)
      if (e.kind === 'http_status' && (e.status === 400 || e.status === 422) && attempt === 0 && /stream_options|include_usage|continuous_usage/i.test(e.message)) {
        // An older server that rejects stream_options: measure with client counts instead.
        this.bodyOptions = { ...this.bodyOptions, streamOptions: false }
        continue
      }
      throw probeError(url, record, e, this.api, this.requireUsage)
    }
  }

  /** Token count of `text` by the server's tokenizer (vLLM/SGLang or llama.cpp `/tokenize`), or null. */
  async tokenize(text: string): Promise<number | null> {
    if (this.tokenizeShape === undefined) this.tokenizeShape = await this.detectTokenize()
    if (this.tokenizeShape === null) return null
    return this.tokenizeWith(this.tokenizeShape, text)
  }

  /** Prompt tokens the server counts for `request`, from the usage of a 1-token streaming request. */
  async probePromptTokens(request: InferenceRequest): Promise<number | null> {
    const info = newInfo()
    const probe: InferenceRequest = { ...request, maxTokens: 1 }
    const record = await this.exchange(buildRequestBody(this.bodyOptions, probe), PROBE_META, null, 1, undefined, info)
    return record.error === null || record.error.kind === 'missing_usage' ? info.serverPromptTokens : null
  }

  private async detectTokenize(): Promise<TokenizeShape | null> {
    for (const shape of ['vllm', 'llamacpp'] as const) {
      if ((await this.tokenizeWith(shape, 'hello world')) !== null) {
        this.tokenizeShape = shape
        return shape
      }
    }
    this.tokenizeShape = null
    return null
  }

  private async tokenizeWith(shape: TokenizeShape, text: string): Promise<number | null> {
    const body = shape === 'vllm' ? { model: this.model ?? '', prompt: text } : { content: text }
    try {
      const reply = await this.jsonRequest('POST', `${this.endpoint.rootPath}/tokenize`, JSON.stringify(body), undefined)
      if (reply.status < 200 || reply.status >= 300 || typeof reply.json !== 'object' || reply.json === null) return null
      const { count, tokens } = reply.json as { count?: unknown; tokens?: unknown }
      const n = typeof count === 'number' ? count : Array.isArray(tokens) ? tokens.length : null
      // llama.cpp answers a body without `content` with an empty list: treat 0 for non-empty text as "not this shape"
      return n === null || (n === 0 && text.length > 0) ? null : n
    } catch {
      return null
    }
  }

  private async jsonRequest(method: 'GET' | 'POST', path: string, body: string | null, signal: AbortSignal | undefined): Promise<JsonReply> {
    const timeout = AbortSignal.timeout(this.timeouts.connectMs + this.timeouts.headersMs)
    const res = await this.pool.request({
      method,
      path,
      headers: body === null ? this.getHeaders : { ...this.getHeaders, 'content-type': 'application/json' },
      body,
      signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      headersTimeout: this.timeouts.headersMs,
      bodyTimeout: this.timeouts.idleMs,
    })
    const text = await readText(res.body, 1 << 20)
    await nextLoopTurn()
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = null
    }
    return { status: res.statusCode, text: this.redact(text), json, server: headerValue(res.headers.server) }
  }
}

interface JsonReply {
  readonly status: number
  readonly text: string
  readonly json: unknown
  readonly server: string | null
}

function newInfo(): ExchangeInfo {
  return { status: null, contentType: null, server: null, serverPromptTokens: null, perChunkUsage: false, usageSeen: false }
}

function headerValue(v: string | string[] | undefined): string | null {
  if (v === undefined) return null
  return Array.isArray(v) ? (v[0] ?? null) : v
}

async function readText(body: Dispatcher.ResponseData['body'], maxBytes: number): Promise<string> {
  const parts: Buffer[] = []
  let bytes = 0
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (bytes < maxBytes) {
        parts.push(chunk)
        bytes += chunk.length
      }
    }
  } catch {
    // keep what arrived
  }
  return Buffer.concat(parts).toString('utf8', 0, Math.min(bytes, maxBytes))
}

function modelIds(json: unknown): string[] {
  const data = typeof json === 'object' && json !== null ? (json as { data?: unknown; models?: unknown }).data ?? (json as { models?: unknown }).models : null
  if (!Array.isArray(data)) return []
  const ids: string[] = []
  for (const m of data) {
    const id = typeof m === 'object' && m !== null ? ((m as { id?: unknown }).id ?? (m as { name?: unknown }).name) : null
    if (typeof id === 'string') ids.push(id)
  }
  return ids
}

function pickModel(wanted: string | null, listed: readonly string[], modelsUrl: string): string {
  if (wanted === null) {
    const first = listed[0]
    if (first === undefined) {
      throw new PreflightError(`no model given and ${modelsUrl} lists none`, { hint: 'name the model with --model (target.model)' })
    }
    return first
  }
  if (listed.length === 0 || listed.includes(wanted)) return wanted
  const tagged = listed.find((m) => m === `${wanted}:latest`)
  if (tagged !== undefined) return tagged
  const shown = listed.slice(0, 10).map((m) => `"${m}"`).join(', ')
  throw new PreflightError(`model "${wanted}" is not served at ${modelsUrl}; it lists ${shown}${listed.length > 10 ? ` and ${listed.length - 10} more` : ''}`, {
    hint: `use --model ${listed[0] ?? ''}, or leave --model out to take the first one listed`,
  })
}

function probeError(url: string, record: RequestRecord, e: RequestError, api: ApiKind, requireUsage: boolean): PreflightError {
  switch (e.kind) {
    case 'malformed_sse':
      if (/not an SSE stream/.test(e.message)) {
        return new PreflightError(`server did not stream: POST ${url} with "stream": true answered JSON instead of Server-Sent Events`, {
          hint: 'tokenwatt measures streamed responses; use a server or endpoint that supports "stream": true',
        })
      }
      return new PreflightError(`the stream from ${url} is not OpenAI-style SSE: ${e.message}`, { hint: 'check that --endpoint points at an OpenAI-compatible server' })
    case 'http_status':
      return new PreflightError(`POST ${url} failed: ${e.message}`, {
        hint:
          e.status === 404
            ? `the server may not offer the ${api} API${api === 'chat' ? ' (try --api completions)' : ' (try --api chat)'}, or the model is not loaded`
            : /ignore_eos|min_tokens/i.test(e.message)
              ? 'the server rejects ignore_eos/min_tokens: turn off target.ignoreEos / target.minTokens'
              : 'check the model name, target.extraBody and the server log',
      })
    case 'rate_limited':
      return new PreflightError(`POST ${url} was rate limited before the run started: ${e.message}`, { hint: 'wait, or raise the server rate limit for this key' })
    case 'missing_usage':
      return new PreflightError(`${url} streams no usage although stream_options.include_usage was asked for`, {
        hint: requireUsage ? 'turn off target.requireUsage to fall back to counting chunks' : 'the server does not report usage',
      })
    case 'headers_timeout':
    case 'idle_timeout':
    case 'total_timeout':
      return new PreflightError(`the test request to ${url} timed out: ${e.message}`, { hint: 'is the server overloaded or still loading the model? raise target timeouts if it is just slow' })
    default:
      return new PreflightError(`the test request to ${url} failed (${e.kind}): ${e.message}`, {
        hint: record.headersAtNs === null ? 'check that the server is running and reachable' : 'check the server log',
      })
  }
}
