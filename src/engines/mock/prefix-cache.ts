import { tokenIds, messageText, type MockMessage } from './mock-tokenizer.js'

/**
 * The mock's prefix cache: a block-hashed KV cache in the manner of vLLM's automatic prefix caching.
 * A prompt is split into full blocks of `blockTokens` tokens; block i's key chains the hash of block
 * i−1 with block i's token ids, so a key stands for the whole prefix up to it. A request's cached
 * tokens are the blocks, from the start, whose keys are already present (the first miss ends the
 * match); when every block matches, the last one is computed again, as vLLM does, so at least one
 * token is prefilled. After the lookup every full block of the prompt is stored (least recently used
 * evicted beyond `capacityBlocks`). Generated tokens are not stored: a session's next turn hits the
 * previous turn's prompt, not its answer. Deterministic, so tests can compute the expected hits.
 */
export class PrefixCache {
  /** Block key → nothing; Map order is recency (oldest first). */
  private readonly blocks = new Map<string, true>()

  constructor(
    readonly blockTokens: number,
    readonly capacityBlocks: number,
  ) {}

  /** Looks the prompt up, then stores its blocks. Returns the tokens served from cache. */
  lookupAndStore(tokens: readonly number[]): number {
    const keys = blockKeys(tokens, this.blockTokens)
    let hit = 0
    while (hit < keys.length && this.blocks.has(keys[hit] as string)) hit++
    if (hit > 0 && hit * this.blockTokens >= tokens.length) hit--
    for (const k of keys) {
      this.blocks.delete(k)
      this.blocks.set(k, true)
    }
    while (this.blocks.size > this.capacityBlocks) {
      const oldest = this.blocks.keys().next().value
      if (oldest === undefined) break
      this.blocks.delete(oldest)
    }
    return hit * this.blockTokens
  }

  get size(): number {
    return this.blocks.size
  }
}

function blockKeys(tokens: readonly number[], blockTokens: number): string[] {
  const keys: string[] = []
  let h = 2166136261
  let h2 = 0x9e3779b9
  for (let b = 0; (b + 1) * blockTokens <= tokens.length; b++) {
    for (let i = b * blockTokens; i < (b + 1) * blockTokens; i++) {
      const t = tokens[i] ?? 0
      h = Math.imul(h ^ t, 16777619) >>> 0
      h2 = Math.imul(h2 ^ (t + i), 2246822519) >>> 0
    }
    keys.push(`${h.toString(36)}.${h2.toString(36)}`)
  }
  return keys
}

/** Role-marker token ids of the mock's chat template, by role (they precede each message's text). */
const ROLE_ID: Record<string, number> = { system: 32001, user: 32002, assistant: 32003, tool: 32004 }

/**
 * The token sequence the mock prefills for a chat prompt: per message, `tokensPerMessage` role-marker
 * ids then the text's ids; its length equals `countChatTokens`. A conversation that grows by
 * appending messages keeps the earlier sequence as its prefix.
 */
export function chatTokenIds(messages: readonly MockMessage[], tokensPerMessage: number): number[] {
  const ids: number[] = []
  for (const m of messages) {
    const role = ROLE_ID[String(m.role)] ?? 32005
    for (let i = 0; i < tokensPerMessage; i++) ids.push(role)
    for (const t of tokenIds(messageText(m))) ids.push(t)
  }
  return ids
}
