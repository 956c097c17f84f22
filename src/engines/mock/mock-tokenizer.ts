/**
 * The mock's tokenizer: deterministic and trivially predictable, so tests can compute expected counts by
 * hand. One token per 4 UTF-8 bytes (rounded up); a chat prompt adds a fixed overhead per message, as a
 * chat template's role markers do. Every output token is a 4-byte word, so re-tokenizing an answer gives
 * back its token count.
 */
export const BYTES_PER_TOKEN = 4

export function countTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, 'utf8') / BYTES_PER_TOKEN)
}

export interface MockMessage {
  readonly role?: unknown
  readonly content?: unknown
}

/** Prompt tokens of a chat request: per message, the overhead plus its text (array content parts joined). */
export function countChatTokens(messages: readonly MockMessage[], tokensPerMessage: number): number {
  let n = 0
  for (const m of messages) n += tokensPerMessage + countTokens(messageText(m))
  return n
}

export function messageText(m: MockMessage): string {
  const c = m.content
  if (typeof c === 'string') return c
  if (Array.isArray(c)) return c.map((p) => (typeof p === 'object' && p !== null && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join('')
  return ''
}

/** Token ids of `text` (llama.cpp-style `/tokenize` answers): one id per 4-byte group, stable. */
export function tokenIds(text: string): number[] {
  const bytes = Buffer.from(text, 'utf8')
  const ids: number[] = []
  for (let i = 0; i < bytes.length; i += BYTES_PER_TOKEN) {
    let h = 2166136261
    for (let j = i; j < Math.min(i + BYTES_PER_TOKEN, bytes.length); j++) h = Math.imul(h ^ (bytes[j] ?? 0), 16777619)
    ids.push((h >>> 0) % 32000)
  }
  return ids
}

const WORDS = [' the', ' and', ' for', ' you', ' was', ' are', ' not', ' but', ' all', ' can', ' had', ' her', ' one', ' our', ' out', ' day',
  ' get', ' has', ' him', ' his', ' how', ' man', ' new', ' now', ' old', ' see', ' two', ' way', ' who', ' boy', ' did', ' its'] as const

/** Text of output token `i` of request `seq`: a 4-byte word, varied but reproducible. */
export function outputTokenText(seq: number, i: number): string {
  return WORDS[(seq * 7 + i) % WORDS.length] ?? ' the'
}
