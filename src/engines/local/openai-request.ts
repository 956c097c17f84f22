/**
 * Parses and validates OpenAI-compatible `/v1/completions` and `/v1/chat/completions` bodies into
 * one generation request. Unknown fields are ignored (clients send many); known fields with bad
 * values are a 400 with the OpenAI error shape, naming the field. Sampling defaults are
 * llama-server's (temperature 0.8, top_k 40, top_p 0.95, min_p 0.05), so both engines behave alike.
 */
import type { SamplingOptions } from './node-llama-backend.js'

export type ApiKind = 'chat' | 'completions'

export interface ParsedGeneration {
  readonly kind: ApiKind
  /** Text to tokenize, or token ids given directly (completions only). */
  readonly prompt: string | readonly number[]
  /** undefined: completions default 16 (OpenAI); chat runs to the end of the context. */
  readonly maxTokens: number | undefined
  readonly stream: boolean
  readonly includeUsage: boolean
  readonly sampling: SamplingOptions
  readonly stop: readonly string[]
  readonly ignoreEos: boolean
}

/** A 4xx with a message naming the bad field. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message)
  }
}

const DEFAULTS = { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05 } as const

function num(body: Record<string, unknown>, key: string, min: number, max: number, fallback: number): number {
  const v = body[key]
  if (v === undefined || v === null) return fallback
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new RequestError(400, `${key} must be a number in [${min}, ${max}]`, key)
  return v
}

function int(body: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = body[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new RequestError(400, `${key} must be an integer in [${min}, ${max}]`, key)
  return v
}

function bool(body: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = body[key]
  if (v === undefined || v === null) return fallback
  if (typeof v !== 'boolean') throw new RequestError(400, `${key} must be a boolean`, key)
  return v
}

function textOf(content: unknown, where: string): string {
  if (content === null || content === undefined) return ''
  if (typeof content === 'string') return content
  if (Array.isArray(content)) {
    return content
      .map((part, i) => {
        if (typeof part === 'object' && part !== null && (part as { type?: unknown }).type === 'text' && typeof (part as { text?: unknown }).text === 'string') return (part as { text: string }).text
        throw new RequestError(400, `${where}[${i}] must be a text part ({"type":"text","text":...}); this engine has no other modalities`, where)
      })
      .join('')
  }
  throw new RequestError(400, `${where} must be a string or an array of text parts`, where)
}

/** The chat prompt format, identical to CHAT_TEMPLATE in the model file (used by llama-server). */
export function renderChatPrompt(messages: readonly { role: string; content: string }[]): string {
  return messages.map((m) => `${m.role}: ${m.content}\n`).join('') + 'assistant: '
}

function promptOf(kind: ApiKind, body: Record<string, unknown>): string | readonly number[] {
  if (kind === 'chat') {
    const messages = body['messages']
    if (!Array.isArray(messages) || messages.length === 0) throw new RequestError(400, 'messages must be a non-empty array', 'messages')
    const rendered = messages.map((m, i) => {
      if (typeof m !== 'object' || m === null) throw new RequestError(400, `messages[${i}] must be an object`, 'messages')
      const role = (m as { role?: unknown }).role
      if (typeof role !== 'string' || role === '') throw new RequestError(400, `messages[${i}].role must be a string`, 'messages')
      return { role, content: textOf((m as { content?: unknown }).content, `messages[${i}].content`) }
    })
    return renderChatPrompt(rendered)
  }
  let prompt = body['prompt']
  if (Array.isArray(prompt) && prompt.length === 1 && (typeof prompt[0] === 'string' || Array.isArray(prompt[0]))) prompt = prompt[0]
  if (typeof prompt === 'string') return prompt
  if (Array.isArray(prompt) && prompt.every((t) => typeof t === 'number' && Number.isInteger(t) && t >= 0)) return prompt as number[]
  if (Array.isArray(prompt)) throw new RequestError(400, 'prompt must be a string, an array of token ids, or a one-element array; batched prompts are not supported', 'prompt')
  throw new RequestError(400, 'prompt is required (a string or an array of token ids)', 'prompt')
}

/** Validates a parsed JSON body. `randomSeed` supplies the seed when the request has none. */
export function parseGenerationRequest(kind: ApiKind, body: unknown, randomSeed: () => number): ParsedGeneration {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RequestError(400, 'the request body must be a JSON object')
  const b = body as Record<string, unknown>
  const n = int(b, 'n', 1, 1024)
  if (n !== undefined && n !== 1) throw new RequestError(400, 'n must be 1: this engine returns one choice per request', 'n')
  const maxTokens = int(b, 'max_completion_tokens', 0, 1 << 30) ?? int(b, 'max_tokens', 0, 1 << 30) ?? int(b, 'n_predict', 0, 1 << 30)
  const streamOptions = b['stream_options']
  if (streamOptions !== undefined && streamOptions !== null && (typeof streamOptions !== 'object' || Array.isArray(streamOptions))) throw new RequestError(400, 'stream_options must be an object', 'stream_options')
  const includeUsage = streamOptions ? bool(streamOptions as Record<string, unknown>, 'include_usage', false) : false
  const stopRaw = b['stop']
  let stop: string[] = []
  if (typeof stopRaw === 'string') stop = [stopRaw]
  else if (Array.isArray(stopRaw) && stopRaw.every((s) => typeof s === 'string')) stop = stopRaw
  else if (stopRaw !== undefined && stopRaw !== null) throw new RequestError(400, 'stop must be a string or an array of strings', 'stop')
  stop = stop.filter((s) => s !== '')
  const seed = int(b, 'seed', -(2 ** 53), 2 ** 53)
  return {
    kind,
    prompt: promptOf(kind, b),
    maxTokens,
    stream: bool(b, 'stream', false),
    includeUsage,
    sampling: {
      temperature: num(b, 'temperature', 0, 100, DEFAULTS.temperature),
      topP: num(b, 'top_p', 0, 1, DEFAULTS.topP),
      topK: int(b, 'top_k', 0, 1 << 20) ?? DEFAULTS.topK,
      minP: num(b, 'min_p', 0, 1, DEFAULTS.minP),
      seed: seed === undefined || seed < 0 ? randomSeed() : seed >>> 0,
    },
    stop,
    ignoreEos: bool(b, 'ignore_eos', true),
  }
}
