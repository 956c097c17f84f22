import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Clock } from '../../core/ports.js'
import { faultsFor } from './fault-plan.js'
import { GroundTruthLog, type GroundTruthChunkKind, type GroundTruthOutcome, type GroundTruthRecord } from './ground-truth.js'
import type { MockConfig, MockFaultName } from './mock-config.js'
import { countChatTokens, countTokens, messageText, outputTokenText, tokenIds, type MockMessage } from './mock-tokenizer.js'
import { PowerTrace, type MockPowerReading } from './power-trace.js'
import { MockServerMetrics } from './server-metrics.js'
import { chatTokenIds, PrefixCache } from './prefix-cache.js'
import { SimulatedDevice } from './simulated-device.js'
import { TimerQueue } from './timer-queue.js'

const MAX_BODY_BYTES = 32 << 20
const MAX_MODEL_LEN = 32_768
const NS_PER_MS = 1e6

type Api = 'chat' | 'completions'

/** A request the mock has checked and planned. */
interface Plan {
  /** Whether the first token went out (the request is in decode, not prefill, for the power trace). */
  decoding: boolean
  readonly api: Api
  readonly n: number
  readonly model: string
  readonly promptTokens: number
  /** Prompt tokens the prefix cache served (they cost no prefill time). */
  readonly cachedTokens: number
  /** The prefix cache is on (usage then reports prompt_tokens_details). */
  readonly cachesPrompts: boolean
  readonly plannedTokens: number
  readonly finishReason: 'stop' | 'length'
  readonly includeUsage: boolean
  readonly continuousUsage: boolean
  readonly faults: ReadonlySet<MockFaultName>
  readonly gt: GroundTruthRecord
}

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
  ) {
    super(message)
  }
}

/**
 * The mock engine's request handler: an OpenAI-compatible server whose every timing is scripted
 * (absolute per stream), whose faults are deterministic, and which writes down when it did what, so a
 * client's measurements can be checked against the truth. Transport-agnostic: give `handle` to any
 * node:http server (see `startMockServer`).
 */
export class MockEngine {
  readonly groundTruth: GroundTruthLog
  readonly power: PowerTrace
  /** vLLM-named counters on GET /metrics, for `tokenwatt monitor` (issue 10). */
  readonly serverMetrics: MockServerMetrics
  /** The simulated accelerator, when the config has a `device` section. */
  readonly device: SimulatedDevice | null
  private readonly queue: TimerQueue
  private completions = 0
  private readonly open = new Set<ServerResponse>()
  private readonly prefixCache: PrefixCache | null

  constructor(
    readonly config: MockConfig,
    private readonly clock: Clock,
  ) {
    this.queue = new TimerQueue(clock)
    const d = config.device
    let device: SimulatedDevice | null = null
    this.power = new PowerTrace(clock, config.power.idleW, config.power.perStreamW, config.power.maxW, d ? (streams) => device?.powerW(streams) ?? d.idleW : null, { prefillW: config.power.prefillW, decodeW: config.power.decodeW })
    if (d) {
      const { stateFile, ...params } = d
      device = new SimulatedDevice(params, SimulatedDevice.statePathFrom(stateFile), () => this.power.read().streams, () => this.power.read().energyJ)
    }
    this.device = device
    this.groundTruth = new GroundTruthLog(config.groundTruthLimit, config.groundTruthFile)
    this.serverMetrics = new MockServerMetrics(config.models[0] ?? 'mock')
    const pc = config.prefixCache
    this.prefixCache = pc.enabled ? new PrefixCache(pc.blockTokens, Math.max(1, Math.floor(pc.capacityTokens / pc.blockTokens))) : null
  }

  /** Stops every scheduled write and closes the log. Responses still open are destroyed. */
  async close(): Promise<void> {
    this.queue.clear()
    this.device?.close()
    for (const res of this.open) res.destroy()
    this.open.clear()
    await this.groundTruth.close()
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    res.setHeader('server', 'tokenwatt-mock')
    this.route(req, res).catch((err: unknown) => {
      if (err instanceof HttpProblem) sendError(res, err.status, err.message, err.type)
      else sendError(res, 500, `mock: internal error: ${err instanceof Error ? err.message : String(err)}`, 'internal_error')
    })
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const method = req.method ?? 'GET'
    if (method === 'GET') {
      if (path === '/health') return sendJson(res, 200, { status: 'ok' })
      if (path === '/v1/models' || path === '/models') return sendJson(res, 200, this.modelList())
      if (path === '/tokenwatt/power') {
        const pool = new URL(req.url ?? '/', 'http://x').searchParams.get('pool')
        return sendJson(res, 200, pool === 'prefill' || pool === 'decode' ? poolReading(this.power.read(), pool, this.config.power) : this.power.read())
      }
      if (path === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(this.serverMetrics.render())
        return
      }
    }
    if (method === 'POST') {
      if (path === '/v1/chat/completions' || path === '/chat/completions') return this.completion(req, res, 'chat')
      if (path === '/v1/completions' || path === '/completions') return this.completion(req, res, 'completions')
      if (path === '/tokenize' || path === '/v1/tokenize') return this.tokenize(req, res)
    }
    throw new HttpProblem(404, `mock: no route for ${method} ${path}`, 'not_found_error')
  }

  private modelList(): unknown {
    const created = Math.floor(this.clock.wallMs() / 1000)
    return { object: 'list', data: this.config.models.map((id) => ({ id, object: 'model', created, owned_by: 'tokenwatt', max_model_len: MAX_MODEL_LEN })) }
  }

  private async tokenize(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req)
    if (typeof body.content === 'string') return sendJson(res, 200, { tokens: tokenIds(body.content) })
    if (typeof body.model === 'string') this.checkModel(body.model)
    if (typeof body.prompt === 'string') {
      const tokens = tokenIds(body.prompt)
      return sendJson(res, 200, { count: tokens.length, max_model_len: MAX_MODEL_LEN, tokens })
    }
    if (Array.isArray(body.messages)) {
      const count = countChatTokens(body.messages as MockMessage[], this.config.chatTokensPerMessage)
      return sendJson(res, 200, { count, max_model_len: MAX_MODEL_LEN, tokens: Array.from({ length: count }, (_, i) => i) })
    }
    throw new HttpProblem(400, 'mock: /tokenize wants {"content": …} (llama.cpp) or {"model": …, "prompt"|"messages": …} (vLLM)', 'invalid_request_error')
  }

  private checkModel(model: unknown): string {
    if (typeof model !== 'string' || !this.config.models.includes(model)) {
      throw new HttpProblem(404, `The model \`${String(model)}\` does not exist.`, 'NotFoundError')
    }
    return model
  }

  // ------------------------------------------------------------------ completions

  private async completion(req: IncomingMessage, res: ServerResponse, api: Api): Promise<void> {
    // stamped when the request's head arrives, before its body is read (a loop turn or more later)
    const receivedAtNs = this.clock.nowNs()
    const receivedAtWallMs = this.clock.wallMs()
    const body = await readJson(req)
    const plan = this.plan(api, body, receivedAtNs, receivedAtWallMs, traceHeaders(req))
    this.groundTruth.add(plan.gt)
    this.power.streamStarted()
    this.serverMetrics.running++
    this.open.add(res)
    let ended = false
    const end = (outcome: GroundTruthOutcome): void => {
      if (ended) return
      ended = true
      plan.gt.outcome = outcome
      plan.gt.endedAtNs = this.clock.nowNs()
      this.power.streamEnded(plan.decoding)
      this.serverMetrics.running--
      this.serverMetrics.finished((plan.gt.endedAtNs - plan.gt.receivedAtNs) / 1e9)
      this.open.delete(res)
      this.groundTruth.finished(plan.gt)
    }
    res.on('close', () => end('client_closed'))

    if (plan.faults.has('rateLimit')) {
      plan.gt.status = 429
      res.setHeader('retry-after', '1')
      sendError(res, 429, 'mock: rate limit reached (injected fault)', 'rate_limit_error')
      return end('http_error')
    }
    if (plan.faults.has('serverError')) {
      const status = this.config.faults.serverError.status
      plan.gt.status = status
      sendError(res, status, `mock: server error ${status} (injected fault)`, 'internal_error')
      return end('http_error')
    }
    plan.gt.status = 200
    if (body.stream === true) this.stream(res, plan, end)
    else this.whole(res, plan, end)
  }

  private plan(api: Api, body: Record<string, unknown>, receivedAtNs: number, receivedAtWallMs: number, headers: Record<string, string>): Plan {
    const model = this.checkModel(body.model)
    let promptTokens: number
    let promptPreview: string
    let promptIds: () => number[]
    if (api === 'chat') {
      const messages = body.messages
      if (!Array.isArray(messages) || messages.length === 0) throw new HttpProblem(400, 'mock: "messages" must be a non-empty array', 'invalid_request_error')
      promptTokens = countChatTokens(messages as MockMessage[], this.config.chatTokensPerMessage)
      promptPreview = messageText((messages[messages.length - 1] ?? {}) as MockMessage).slice(0, 120)
      promptIds = () => chatTokenIds(messages as MockMessage[], this.config.chatTokensPerMessage)
    } else {
      const prompt = body.prompt
      const text = typeof prompt === 'string' ? prompt : Array.isArray(prompt) && prompt.every((p) => typeof p === 'string') ? prompt.join('') : null
      if (text === null) {
        if (Array.isArray(prompt) && prompt.every((p) => typeof p === 'number')) {
          promptTokens = prompt.length
          promptPreview = ''
          promptIds = () => prompt
        } else {
          throw new HttpProblem(400, 'mock: "prompt" must be a string, a list of strings or a list of token ids', 'invalid_request_error')
        }
      } else {
        promptTokens = countTokens(text)
        promptPreview = text.slice(0, 120)
        promptIds = () => tokenIds(text)
      }
    }
    const maxRaw = body.max_tokens ?? body.max_completion_tokens ?? null
    if (maxRaw !== null && (typeof maxRaw !== 'number' || !Number.isInteger(maxRaw) || maxRaw < 1)) {
      throw new HttpProblem(400, 'mock: max_tokens must be a positive integer', 'invalid_request_error')
    }
    const maxTokens = maxRaw
    const limit = maxTokens ?? this.config.defaultMaxTokens
    const minTokens = typeof body.min_tokens === 'number' ? body.min_tokens : 0
    const natural = this.config.outputTokens
    const plannedTokens = natural === undefined || body.ignore_eos === true ? limit : Math.min(limit, Math.max(natural, minTokens))
    const options = typeof body.stream_options === 'object' && body.stream_options !== null ? (body.stream_options as Record<string, unknown>) : {}
    const n = ++this.completions
    const faults = faultsFor(this.config.faults, this.config.seed, n)
    const includeUsage = options.include_usage === true
    const continuousUsage = options.continuous_usage_stats === true
    // llama.cpp's per-request switch: cache_prompt false skips the cache (lookup and store)
    const cachedTokens = this.prefixCache !== null && body.cache_prompt !== false ? this.prefixCache.lookupAndStore(promptIds()) : 0
    const gt: GroundTruthRecord = {
      n,
      path: api === 'chat' ? '/v1/chat/completions' : '/v1/completions',
      model,
      stream: body.stream === true,
      promptPreview,
      promptTokens,
      cachedTokens,
      headers,
      maxTokens,
      plannedTokens,
      includeUsage,
      continuousUsage,
      faults: [...faults],
      status: 0,
      receivedAtNs,
      receivedAtWallMs,
      headersAtNs: null,
      headersAtWallMs: null,
      chunks: [],
      tokensSent: 0,
      finishReason: null,
      endedAtNs: null,
      outcome: 'in_progress',
    }
    return { decoding: false, api, n, model, promptTokens, cachedTokens, cachesPrompts: this.prefixCache !== null, plannedTokens, finishReason: plannedTokens < limit ? 'stop' : 'length', includeUsage, continuousUsage, faults, gt }
  }

  /** Time between tokens for a request admitted now: fixed, or the device model's at the batch in flight. */
  private itlMsNow(): number {
    return this.device ? this.device.itlMs(this.power.read().streams) : this.config.itlMs
  }

  /** A streamed answer: headers, (chat) a role chunk, content chunks on an absolute schedule, usage, [DONE]. */
  private stream(res: ServerResponse, plan: Plan, end: (o: GroundTruthOutcome) => void): void {
    const c = this.config
    const gt = plan.gt
    const k = c.tokensPerChunk
    const chunks = Math.ceil(plan.plannedTokens / k)
    const firstNs = gt.receivedAtNs + (c.ttftMs + c.prefillMsPerToken * (plan.promptTokens - plan.cachedTokens)) * NS_PER_MS
    const stepNs = k * this.itlMsNow() * NS_PER_MS
    const stallAt = plan.faults.has('stall') ? Math.min(c.faults.stall.afterChunks, chunks) : Infinity
    const stallNs = c.faults.stall.ms * NS_PER_MS
    const created = Math.floor(gt.receivedAtWallMs / 1000)
    const id = `${plan.api === 'chat' ? 'chatcmpl' : 'cmpl'}-mock-${plan.n}`
    const object = plan.api === 'chat' ? 'chat.completion.chunk' : 'text_completion'
    const pending = new Set<MockFaultName>(['malformed', 'errorEvent', 'disconnect'].filter((f) => plan.faults.has(f as MockFaultName)) as MockFaultName[])
    let closed = false
    res.once('close', () => {
      closed = true
    })

    const write = (kind: GroundTruthChunkKind, text: string, tokens: number): void => {
      if (res.destroyed || res.writableEnded) return
      const atNs = this.clock.nowNs()
      const atWallMs = this.clock.wallMs()
      res.write(text)
      if (kind === 'content' && tokens > 0) {
        if (gt.tokensSent === 0) this.serverMetrics.firstToken(plan.promptTokens, (atNs - gt.receivedAtNs) / 1e9)
        if (!plan.decoding) {
          plan.decoding = true
          this.power.firstToken()
        }
        this.serverMetrics.generationTokens += tokens
      }
      gt.chunks.push({ kind, atNs, atWallMs, tokens })
      gt.tokensSent += tokens
    }
    const usage = (completionTokens: number): Record<string, unknown> => ({ ...usageOf(plan, completionTokens) })
    const event = (choice: Record<string, unknown> | null, usageTokens: number | null): string => {
      const msg: Record<string, unknown> = { id, object, created, model: plan.model, choices: choice === null ? [] : [choice] }
      if (usageTokens !== null) msg.usage = usage(usageTokens)
      return `data: ${JSON.stringify(msg)}\n\n`
    }
    /** Mid-stream faults due once `written` content chunks are out; false when the stream is over. */
    const faultsAt = (written: number): boolean => {
      for (const f of pending) {
        const after = Math.min((c.faults[f] as { afterChunks: number }).afterChunks, chunks)
        if (after !== written) continue
        pending.delete(f)
        if (f === 'malformed') write('malformed', `data: {"id":"${id}","choices":[{"delta":{"content":"oops"}\n\n`, 0)
        if (f === 'errorEvent') {
          write('error', `data: ${JSON.stringify({ error: { message: 'mock: engine error mid-stream (injected fault)', type: 'internal_error', code: 500 } })}\n\n`, 0)
          write('done', 'data: [DONE]\n\n', 0)
          gt.finishReason = null
          end('complete')
          res.end()
          return false
        }
        if (f === 'disconnect') {
          end('disconnected')
          // cut the connection once what was written has left: destroy() alone drops unflushed chunks
          const socket = res.socket
          if (socket === null) return false
          if (socket.writableLength === 0) socket.destroy()
          else socket.write('', () => socket.destroy())
          return false
        }
      }
      return true
    }
    const step = (j: number): void => {
      if (closed) return
      if (!faultsAt(j)) return
      if (j === chunks) {
        if (plan.includeUsage && !plan.faults.has('missingUsage')) write('usage', event(null, gt.tokensSent), 0)
        write('done', 'data: [DONE]\n\n', 0)
        end('complete')
        res.end()
        return
      }
      const from = j * k
      const to = Math.min(plan.plannedTokens, from + k)
      let text = ''
      for (let i = from; i < to; i++) text += outputTokenText(plan.n, i)
      const last = j === chunks - 1
      if (last) gt.finishReason = plan.finishReason
      const finish = last ? plan.finishReason : null
      const choice = plan.api === 'chat' ? { index: 0, delta: { content: text }, logprobs: null, finish_reason: finish } : { index: 0, text, logprobs: null, finish_reason: finish }
      write('content', event(choice, plan.continuousUsage ? to : null), to - from)
      const next = j + 1
      if (next === chunks && stallAt !== chunks) step(next)
      else this.queue.at(dueNs(next), () => step(next))
    }
    // With a simulated device each step takes the time the device's clock allows now (a cap changed
    // mid-request shows from the next token); without one the schedule is fixed at admission.
    let deviceDueNs = firstNs
    const dueNs = (j: number): number => {
      if (this.device && j > 0 && j < chunks) deviceDueNs += k * this.itlMsNow() * NS_PER_MS
      const t = (this.device ? deviceDueNs : firstNs + Math.min(j, chunks - 1) * stepNs) + (j >= stallAt ? stallNs : 0)
      return Math.max(t, gt.headersAtNs ?? 0)
    }
    const sendHeaders = (): void => {
      if (closed) return
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' })
      res.flushHeaders()
      gt.headersAtNs = this.clock.nowNs()
      gt.headersAtWallMs = this.clock.wallMs()
      if (plan.api === 'chat') write('role', event({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }, plan.continuousUsage ? 0 : null), 0)
      this.queue.at(dueNs(0), () => step(0))
    }
    if (plan.faults.has('slowHeaders')) this.queue.at(gt.receivedAtNs + c.faults.slowHeaders.ms * NS_PER_MS, sendHeaders)
    else sendHeaders()
  }

  /** A non-streamed answer, sent when the last token would have been generated. */
  private whole(res: ServerResponse, plan: Plan, end: (o: GroundTruthOutcome) => void): void {
    const c = this.config
    const gt = plan.gt
    const lastNs = gt.receivedAtNs + (c.ttftMs + c.prefillMsPerToken * (plan.promptTokens - plan.cachedTokens) + (plan.plannedTokens - 1) * this.itlMsNow()) * NS_PER_MS
    const slowNs = plan.faults.has('slowHeaders') ? gt.receivedAtNs + c.faults.slowHeaders.ms * NS_PER_MS : 0
    this.queue.at(Math.max(lastNs, slowNs), () => {
      if (res.destroyed) return
      let text = ''
      for (let i = 0; i < plan.plannedTokens; i++) text += outputTokenText(plan.n, i)
      const choice = plan.api === 'chat' ? { index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: plan.finishReason } : { index: 0, text, logprobs: null, finish_reason: plan.finishReason }
      const usage = usageOf(plan, plan.plannedTokens)
      const reply = { id: `${plan.api === 'chat' ? 'chatcmpl' : 'cmpl'}-mock-${plan.n}`, object: plan.api === 'chat' ? 'chat.completion' : 'text_completion', created: Math.floor(gt.receivedAtWallMs / 1000), model: plan.model, choices: [choice], usage }
      gt.headersAtNs = this.clock.nowNs()
      gt.headersAtWallMs = this.clock.wallMs()
      gt.tokensSent = plan.plannedTokens
      this.serverMetrics.firstToken(plan.promptTokens, (gt.headersAtNs - gt.receivedAtNs) / 1e9)
      this.serverMetrics.generationTokens += plan.plannedTokens
      gt.finishReason = plan.finishReason
      sendJson(res, 200, reply)
      end('complete')
    })
  }
}

/** OpenAI usage; with the prefix cache on, `prompt_tokens_details.cached_tokens` too (as vLLM and OpenAI report it). */
function usageOf(plan: Plan, completionTokens: number): Record<string, unknown> {
  const u: Record<string, unknown> = { prompt_tokens: plan.promptTokens, completion_tokens: completionTokens, total_tokens: plan.promptTokens + completionTokens }
  if (plan.cachesPrompts) u.prompt_tokens_details = { cached_tokens: plan.cachedTokens }
  return u
}

/** The request's `x-*` headers for the ground truth; any whose name suggests a secret is left out. */
function traceHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.headers)) {
    if (k.startsWith('x-') && typeof v === 'string' && !/key|token|auth|secret|cookie/.test(k)) out[k] = v
  }
  return out
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const parts: Buffer[] = []
  let bytes = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length
    if (bytes > MAX_BODY_BYTES) throw new HttpProblem(413, 'mock: request body too large', 'invalid_request_error')
    parts.push(chunk)
  }
  let body: unknown
  try {
    body = JSON.parse(Buffer.concat(parts).toString('utf8'))
  } catch {
    throw new HttpProblem(400, 'mock: the request body is not valid JSON', 'invalid_request_error')
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpProblem(400, 'mock: the request body must be a JSON object', 'invalid_request_error')
  return body as Record<string, unknown>
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  if (res.headersSent || res.destroyed) return
  const text = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function sendError(res: ServerResponse, status: number, message: string, type: string): void {
  sendJson(res, status, { error: { message, type, code: status } })
}

/**
 * One pool of a disaggregated deployment (`GET /tokenwatt/power?pool=prefill|decode`): half the idle
 * power, and the dynamic power and energy of its phase only, as the prefill and decode workers' own
 * meters would read them. The two pools add up to the whole trace.
 */
function poolReading(r: MockPowerReading, pool: 'prefill' | 'decode', p: { readonly idleW: number; readonly perStreamW: number; readonly prefillW: number; readonly decodeW: number }): MockPowerReading {
  const idleJ = r.energyJ - r.prefillEnergyJ - r.decodeEnergyJ
  const dynW = pool === 'prefill' ? (p.perStreamW + p.prefillW) * r.prefillStreams : (p.perStreamW + p.decodeW) * r.decodeStreams
  return { ...r, powerW: p.idleW / 2 + dynW, energyJ: idleJ / 2 + (pool === 'prefill' ? r.prefillEnergyJ : r.decodeEnergyJ) }
}
