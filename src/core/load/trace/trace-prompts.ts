import type { ChatMessage, InferenceRequest } from '../../ports.js'
import { randomWords, type TokenCalibration } from '../prompts.js'
import { createRng, deriveSeed } from '../rng.js'
import type { TraceRow } from './trace-row.js'

/**
 * Real prompts for trace rows. Each `hash_ids` block id maps to a fixed block of text of `blockTokens`
 * tokens (seeded by the id, and by the session for traces whose ids are session-scoped, as Weka's
 * `hash_id_scope: local` says), so rows that share leading hash ids share a real text prefix and a
 * server's prefix cache sees the reuse the trace recorded. The last block is cut to the row's
 * input_length (a prefix of the full block, so it still shares with rows that have it whole); rows
 * longer than their blocks, or without hash ids, get seeded words for the rest.
 */
export class TracePrompts {
  constructor(
    private readonly seed: number,
    private readonly blockTokens: number,
    private readonly calibration: TokenCalibration,
    private readonly chat: boolean,
  ) {}

  text(row: TraceRow): string {
    if (row.prompt !== null) return row.prompt
    const B = row.blockTokens ?? this.blockTokens
    const parts: string[] = []
    let left = row.inputTokens
    const scope = row.sessionId ?? ''
    for (const id of row.hashIds ?? []) {
      if (left <= 0) break
      const words = this.block(scope, id, B)
      const take = Math.min(B, left)
      parts.push(take === B ? words.join(' ') : words.slice(0, Math.max(1, this.words(take))).join(' '))
      left -= take
    }
    if (left > 0 || parts.length === 0) {
      parts.push(randomWords(this.words(Math.max(1, left)), createRng(deriveSeed(this.seed, `trace-row:${row.line}:${row.timestampMs}`))))
    }
    return parts.join(' ')
  }

  request(row: TraceRow, seq: number, scheduledAtNs: number, session: InferenceRequest['session'] | null): InferenceRequest {
    const text = this.text(row)
    const messages: ChatMessage[] | null = this.chat ? [{ role: 'user', content: text }] : null
    return {
      seq,
      phase: 'measure',
      userId: session?.sessionId ?? null,
      scheduledAtNs,
      text: this.chat ? null : text,
      messages,
      maxTokens: Math.max(1, row.outputTokens),
      targetInputTokens: row.inputTokens,
      // a correlation id on every request (and the session id, for affinity routing, on session rows)
      headers: session
        ? { 'x-session-id': `tw-session-${session.sessionId}`, 'x-correlation-id': `tw-session-${session.sessionId}-${session.turn}-${session.branch}` }
        : { 'x-correlation-id': `tw-request-${seq}` },
      ...(session ? { session } : {}),
    }
  }

  private block(scope: string, id: number, tokens: number): string[] {
    return randomWords(this.words(tokens), createRng(deriveSeed(this.seed, `hash-block:${scope}:${id}:${tokens}`))).split(' ')
  }

  private words(tokens: number): number {
    return Math.max(1, Math.round(tokens / this.calibration.tokensPerWord))
  }
}
