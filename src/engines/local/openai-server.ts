/**
 * The embedded engine's HTTP face: OpenAI-compatible completions and chat completions (SSE
 * streaming and not), `/v1/models`, `/health`, llama.cpp's `/tokenize`, `/detokenize` and `/props`,
 * and Prometheus `/metrics` in llama-server's names. Plain node:http, so the server adds as little
 * per-token work as possible next to the engine it measures: each token is one small SSE write.
 */
import { randomBytes, randomInt } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { EngineError } from '../../core/errors.js'
import type { GenerateResult, GenerationBackend } from './node-llama-backend.js'
import { RequestError, parseGenerationRequest, type ApiKind, type ParsedGeneration } from './openai-request.js'
import { StopMatcher } from './stop-matcher.js'

export interface OpenAiServerOptions {
  readonly backend: GenerationBackend
  /** Reported by /v1/models and in every response. */
  readonly modelName: string
  readonly host: string
  /** 0 picks a free port. */
  readonly port: number
  /** Extra fields for /props (model path, engine, ...). */
  readonly props?: Readonly<Record<string, unknown>>
}

export interface RunningServer {
  /** e.g. `http://127.0.0.1:41234` (no trailing slash, no /v1). */
  readonly url: string
  readonly port: number
  /** Stops accepting, cuts open connections (aborting their generations) and waits. */
  close(): Promise<void>
}

const MAX_BODY_BYTES = 8 << 20

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}

function sendError(res: ServerResponse, status: number, message: string, param: string | null = null): void {
  const type = status >= 500 ? 'server_error' : status === 404 ? 'not_found_error' : 'invalid_request_error'
  if (res.headersSent) {
    res.end()
    return
  }
  sendJson(res, status, { error: { message, type, param, code: status } })
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) throw new RequestError(413, `request body over ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') return {}
  try {
    return JSON.parse(text)
  } catch {
    throw new RequestError(400, 'the request body is not valid JSON')
  }
}

function usageOf(r: GenerateResult): Record<string, unknown> {
  return { prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens, total_tokens: r.promptTokens + r.completionTokens }
}

/** llama-server's `timings` object, so tools that read it get the engine's own view. */
function timingsOf(r: GenerateResult): Record<string, unknown> {
  const predictedMs = r.completionTokens > 1 ? r.decodeMs : 0
  return {
    prompt_n: r.promptTokens,
    prompt_ms: r.promptMs,
    prompt_per_second: r.promptMs > 0 ? (r.promptTokens * 1000) / r.promptMs : null,
    predicted_n: r.completionTokens,
    predicted_ms: predictedMs,
    predicted_per_second: predictedMs > 0 ? ((r.completionTokens - 1) * 1000) / predictedMs : null,
    queue_ms: r.queueMs,
  }
}

class Handler {
  constructor(private readonly opts: OpenAiServerOptions) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Names the engine in every result's target.server (llama-server sends no Server header).
    res.setHeader('Server', 'tokenwatt-local (llama.cpp via node-llama-cpp)')
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const method = req.method ?? 'GET'
    const route = ROUTES[path]
    if (route === undefined) return sendError(res, 404, `no route ${method} ${path}`)
    if (route.method !== method) {
      res.setHeader('Allow', route.method)
      return sendError(res, 405, `${path} takes ${route.method}, not ${method}`)
    }
    try {
      await route.run(this, req, res)
    } catch (e) {
      if (e instanceof RequestError) return sendError(res, e.status, e.message, e.param)
      const message = e instanceof Error ? e.message : String(e)
      sendError(res, 500, message)
    }
  }

  health(res: ServerResponse): void {
    sendJson(res, 200, { status: 'ok' })
  }

  models(res: ServerResponse): void {
    sendJson(res, 200, {
      object: 'list',
      data: [{ id: this.opts.modelName, object: 'model', created: Math.floor(Date.now() / 1000), owned_by: 'tokenwatt', meta: { n_ctx: this.opts.backend.contextPerSequence, slots: this.opts.backend.slots } }],
    })
  }

  props(res: ServerResponse): void {
    const b = this.opts.backend
    sendJson(res, 200, { model_alias: this.opts.modelName, total_slots: b.slots, default_generation_settings: { n_ctx: b.contextPerSequence }, ...this.opts.props })
  }

  metrics(res: ServerResponse): void {
    const b = this.opts.backend
    const text = b.metrics.render({ processing: b.processing, deferred: b.deferred, slots: b.slots })
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': Buffer.byteLength(text) })
    res.end(text)
  }

  async tokenize(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readJson(req)) as Record<string, unknown>
    const content = body['content']
    if (typeof content !== 'string') throw new RequestError(400, 'content must be a string', 'content')
    const addSpecial = body['add_special'] === true
    const tokens = this.opts.backend.tokenize(content)
    sendJson(res, 200, { tokens: addSpecial ? [1, ...tokens] : tokens })
  }

  async detokenize(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readJson(req)) as Record<string, unknown>
    const tokens = body['tokens']
    if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'number' && Number.isInteger(t) && t >= 0)) throw new RequestError(400, 'tokens must be an array of token ids', 'tokens')
    sendJson(res, 200, { content: this.opts.backend.detokenize(tokens as number[]) })
  }

  async generate(kind: ApiKind, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = parseGenerationRequest(kind, await readJson(req), () => randomInt(0, 2 ** 31))
    const backend = this.opts.backend
    const promptTokens = typeof parsed.prompt === 'string' ? backend.tokenize(parsed.prompt) : [...parsed.prompt]
    const ctx = backend.contextPerSequence
    const inputTokens = promptTokens.length + 1 // + BOS
    if (inputTokens >= ctx) {
      throw new RequestError(400, `the prompt has ${inputTokens} tokens, which does not fit the context of ${ctx} tokens per sequence (raise --ctx)`, kind === 'chat' ? 'messages' : 'prompt')
    }
    const room = ctx - inputTokens
    const wanted = parsed.maxTokens ?? (kind === 'completions' ? 16 : room)
    const maxTokens = Math.min(wanted, room)

    const abort = new AbortController()
    res.on('close', () => {
      if (!res.writableFinished) abort.abort(new Error('client disconnected'))
    })
    if (parsed.stream) await this.stream(parsed, promptTokens, maxTokens, abort.signal, res)
    else await this.complete(parsed, promptTokens, maxTokens, abort.signal, res)
  }

  private ids(kind: ApiKind): { id: string; created: number } {
    return { id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`, created: Math.floor(Date.now() / 1000) }
  }

  private async stream(p: ParsedGeneration, promptTokens: number[], maxTokens: number, signal: AbortSignal, res: ServerResponse): Promise<void> {
    const { id, created } = this.ids(p.kind)
    const model = JSON.stringify(this.opts.modelName)
    const object = p.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion'
    const head = `data: {"id":"${id}","object":"${object}","created":${created},"model":${model},`
    const piece =
      p.kind === 'chat'
        ? (text: string, finish: string | null, role = false): string =>
            `${head}"choices":[{"index":0,"delta":${finish === null ? `{${role ? '"role":"assistant",' : ''}"content":${JSON.stringify(text)}}` : '{}'},"logprobs":null,"finish_reason":${finish === null ? 'null' : `"${finish}"`}}]}\n\n`
        : (text: string, finish: string | null): string =>
            `${head}"choices":[{"index":0,"text":${JSON.stringify(text)},"logprobs":null,"finish_reason":${finish === null ? 'null' : `"${finish}"`}}]}\n\n`

    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' })
    if (p.kind === 'chat') res.write(piece('', null, true))
    else res.flushHeaders()
    const stops = new StopMatcher(p.stop)
    const result = await this.opts.backend.generate({
      promptTokens,
      maxTokens,
      sampling: p.sampling,
      ignoreEos: p.ignoreEos,
      signal,
      onToken: (text) => {
        if (res.destroyed) return false
        const out = stops.push(text)
        if (out !== '') res.write(piece(out, null))
        return !stops.isStopped
      },
    })
    if (result.finishReason === 'abort' || res.destroyed) {
      res.end()
      return
    }
    const rest = stops.push(result.tail) + stops.flush()
    if (rest !== '') res.write(piece(rest, null))
    const finish = result.finishReason === 'stop' ? 'stop' : 'length'
    res.write(piece('', finish))
    if (p.includeUsage) res.write(`${head}"choices":[],"usage":${JSON.stringify(usageOf(result))},"timings":${JSON.stringify(timingsOf(result))}}\n\n`)
    res.end('data: [DONE]\n\n')
  }

  private async complete(p: ParsedGeneration, promptTokens: number[], maxTokens: number, signal: AbortSignal, res: ServerResponse): Promise<void> {
    const { id, created } = this.ids(p.kind)
    const stops = new StopMatcher(p.stop)
    let text = ''
    const result = await this.opts.backend.generate({
      promptTokens,
      maxTokens,
      sampling: p.sampling,
      ignoreEos: p.ignoreEos,
      signal,
      onToken: (t) => {
        text += stops.push(t)
        return !stops.isStopped
      },
    })
    if (result.finishReason === 'abort') {
      res.destroy()
      return
    }
    text += stops.push(result.tail) + stops.flush()
    const finish = result.finishReason === 'stop' ? 'stop' : 'length'
    const base = { id, created, model: this.opts.modelName, usage: usageOf(result), timings: timingsOf(result) }
    if (p.kind === 'chat') {
      sendJson(res, 200, { ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: finish }] })
    } else {
      sendJson(res, 200, { ...base, object: 'text_completion', choices: [{ index: 0, text, logprobs: null, finish_reason: finish }] })
    }
  }
}

interface Route {
  readonly method: 'GET' | 'POST'
  run(h: Handler, req: IncomingMessage, res: ServerResponse): void | Promise<void>
}

const health: Route = { method: 'GET', run: (h, _q, r) => h.health(r) }
const models: Route = { method: 'GET', run: (h, _q, r) => h.models(r) }
const completions: Route = { method: 'POST', run: (h, q, r) => h.generate('completions', q, r) }
const chat: Route = { method: 'POST', run: (h, q, r) => h.generate('chat', q, r) }

const ROUTES: Readonly<Record<string, Route>> = {
  '/health': health,
  '/v1/health': health,
  '/v1/models': models,
  '/models': models,
  '/v1/completions': completions,
  '/completions': completions,
  '/v1/chat/completions': chat,
  '/chat/completions': chat,
  '/tokenize': { method: 'POST', run: (h, q, r) => h.tokenize(q, r) },
  '/detokenize': { method: 'POST', run: (h, q, r) => h.detokenize(q, r) },
  '/props': { method: 'GET', run: (h, _q, r) => h.props(r) },
  '/metrics': { method: 'GET', run: (h, _q, r) => h.metrics(r) },
}

/**
 * Serves `backend` over HTTP until `close()`.
 *
 * @example
 * const server = await startOpenAiServer({ backend, modelName: 'tokenwatt-tiny-f16', host: '127.0.0.1', port: 0 })
 * // POST `${server.url}/v1/chat/completions`
 */
export async function startOpenAiServer(opts: OpenAiServerOptions): Promise<RunningServer> {
  const handler = new Handler(opts)
  const server: Server = createServer({ noDelay: true, keepAlive: true, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
    handler.handle(req, res).catch((e: unknown) => sendError(res, 500, e instanceof Error ? e.message : String(e)))
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      const hint = e.code === 'EADDRINUSE' ? 'pick another --port, or --port 0 for a free one' : 'check --host and --port'
      reject(new EngineError(`cannot listen on ${opts.host}:${opts.port}: ${e.message}`, { hint, cause: e }))
    }
    server.once('error', onError)
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
