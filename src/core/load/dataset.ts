import type { ChatMessage } from '../ports.js'

/** One prompt from a dataset file, with the output length it came with (if any). */
export interface DatasetItem {
  readonly text: string | null
  readonly messages: readonly ChatMessage[] | null
  /** Output tokens the dataset says this prompt should produce (known or estimated). */
  readonly outputTokens: number | null
}

export class DatasetParseError extends Error {}

const ROLE_OF: Record<string, ChatMessage['role']> = {
  human: 'user',
  user: 'user',
  gpt: 'assistant',
  assistant: 'assistant',
  chatgpt: 'assistant',
  bard: 'assistant',
  model: 'assistant',
  system: 'system',
}

/**
 * JSONL: one object a line, with `prompt` (or `text`/`input`) or `messages` ([{role, content}]), and
 * optionally `output_tokens` / `max_tokens` / `output_len`. Blank lines are skipped.
 */
export function parseJsonlDataset(content: string): DatasetItem[] {
  const items: DatasetItem[] = []
  const lines = content.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]?.trim()
    if (!line) continue
    let obj: unknown
    try {
      obj = JSON.parse(line)
    } catch {
      throw new DatasetParseError(`line ${i + 1}: not valid JSON`)
    }
    if (typeof obj !== 'object' || obj === null) throw new DatasetParseError(`line ${i + 1}: expected an object`)
    const o = obj as Record<string, unknown>
    const out = firstNumber(o, ['output_tokens', 'max_tokens', 'output_len', 'output_length'])
    const text = firstString(o, ['prompt', 'text', 'input', 'question'])
    if (text !== null) {
      items.push({ text, messages: null, outputTokens: out })
      continue
    }
    if (Array.isArray(o.messages)) {
      const messages = o.messages.map((m, j) => toMessage(m, `line ${i + 1}: messages[${j}]`))
      items.push({ text: null, messages, outputTokens: out })
      continue
    }
    throw new DatasetParseError(`line ${i + 1}: needs "prompt" (or "text") or "messages"`)
  }
  if (items.length === 0) throw new DatasetParseError('no prompts found')
  return items
}

/**
 * ShareGPT: a JSON array of `{conversations: [{from, value}, ...]}`. Each conversation gives one
 * request: its first human turn as the prompt, and the following assistant turn's length (estimated
 * with `estimateTokens`) as the output length.
 */
export function parseShareGptDataset(content: string, estimateTokens: (text: string) => number): DatasetItem[] {
  let data: unknown
  try {
    data = JSON.parse(content)
  } catch {
    throw new DatasetParseError('not valid JSON (ShareGPT files are one JSON array)')
  }
  if (!Array.isArray(data)) throw new DatasetParseError('expected a JSON array of conversations')
  const items: DatasetItem[] = []
  for (const entry of data) {
    const conv = (entry as { conversations?: unknown })?.conversations
    if (!Array.isArray(conv)) continue
    const turns = conv as { from?: unknown; value?: unknown }[]
    const firstHuman = turns.findIndex((t) => ROLE_OF[String(t.from)] === 'user' && typeof t.value === 'string')
    if (firstHuman < 0) continue
    const prompt = turns[firstHuman]?.value as string
    const reply = turns[firstHuman + 1]
    const outputTokens = reply && typeof reply.value === 'string' && reply.value.length > 0 ? Math.max(1, estimateTokens(reply.value)) : null
    items.push({ text: prompt, messages: null, outputTokens })
  }
  if (items.length === 0) throw new DatasetParseError('no conversations with a human turn found')
  return items
}

function toMessage(m: unknown, where: string): ChatMessage {
  const o = (m ?? {}) as Record<string, unknown>
  const role = ROLE_OF[String(o.role ?? o.from)]
  const content = o.content ?? o.value
  if (!role || typeof content !== 'string') throw new DatasetParseError(`${where}: needs role and string content`)
  return { role, content }
}

function firstString(o: Record<string, unknown>, keys: string[]): string | null {
  for (const k of keys) if (typeof o[k] === 'string') return o[k]
  return null
}

function firstNumber(o: Record<string, unknown>, keys: string[]): number | null {
  for (const k of keys) {
    const v = o[k]
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) return Math.round(v)
  }
  return null
}
