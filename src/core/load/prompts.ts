import type { ChatMessage } from '../ports.js'
import type { Rng } from './rng.js'
import { WORDS } from './words.js'

/**
 * How many tokens a synthetic prompt of `words` words costs on the target:
 * `tokens ≈ overheadTokens + tokensPerWord × words`. Calibrated against the server's own tokenizer
 * (its tokenize endpoint, or probe requests read back from usage), else a chars-per-token estimate.
 */
export interface TokenCalibration {
  readonly overheadTokens: number
  readonly tokensPerWord: number
  readonly source: 'server-tokenize' | 'probe' | 'estimate'
}

/** The estimate used when the server cannot tell us: average word length + 1 space over chars/token. */
export function estimateCalibration(charsPerToken: number): TokenCalibration {
  const avgChars = WORDS.reduce((s, w) => s + w.length + 1, 0) / WORDS.length
  return { overheadTokens: 0, tokensPerWord: avgChars / charsPerToken, source: 'estimate' }
}

/** Fits the calibration line through two measured (words, tokens) points. */
export function fitCalibration(
  a: { words: number; tokens: number },
  b: { words: number; tokens: number },
  source: TokenCalibration['source'],
): TokenCalibration {
  const tokensPerWord = (b.tokens - a.tokens) / (b.words - a.words)
  const overheadTokens = Math.max(0, a.tokens - tokensPerWord * a.words)
  return { overheadTokens, tokensPerWord: tokensPerWord > 0 ? tokensPerWord : 1, source }
}

/** Words to use for a target token count under a calibration (at least one). */
export function wordsForTokens(targetTokens: number, cal: TokenCalibration): number {
  return Math.max(1, Math.round((targetTokens - cal.overheadTokens) / cal.tokensPerWord))
}

/** `n` seeded random words. */
export function randomWords(n: number, rng: Rng): string {
  const parts = new Array<string>(n)
  for (let i = 0; i < n; i++) parts[i] = WORDS[Math.floor(rng.next() * WORDS.length)] ?? 'the'
  return parts.join(' ')
}

export function asMessages(text: string): ChatMessage[] {
  return [{ role: 'user', content: text }]
}
