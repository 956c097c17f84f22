import type { BenchConfig } from '../core/config/bench-schema.js'
import { estimateCalibration, fitCalibration, randomWords, type TokenCalibration } from '../core/load/prompts.js'
import { createRng } from '../core/load/rng.js'
import type { InferenceClient, InferenceRequest } from '../core/ports.js'

const SHORT_WORDS = 16
const LONG_WORDS = 400

/**
 * Learns how many tokens the target's tokenizer spends per synthetic word, so prompts hit their
 * target lengths: the server's tokenize endpoint when it has one (vLLM, SGLang, llama.cpp), else two
 * 1-token probe requests read back from usage (this also captures the chat template's overhead), else
 * the chars-per-token estimate. Returns the calibration and a note on how it was made.
 */
export async function calibrateTokens(
  client: InferenceClient,
  config: Pick<BenchConfig, 'workload' | 'target'>,
): Promise<{ calibration: TokenCalibration; note: string | null }> {
  const mode = config.workload.tokenizer
  const fallback = estimateCalibration(config.workload.charsPerToken)
  if (mode === 'estimate') return { calibration: fallback, note: null }
  const rng = createRng(12345)
  const short = randomWords(SHORT_WORDS, rng)
  const long = randomWords(LONG_WORDS, rng)
  const chat = config.target.api === 'chat'
  const probe = (text: string): InferenceRequest => ({
    seq: -1,
    phase: 'warmup',
    userId: null,
    scheduledAtNs: null,
    text: chat ? null : text,
    messages: chat ? [{ role: 'user', content: text }] : null,
    maxTokens: 1,
    targetInputTokens: null,
  })
  if (mode === 'auto' || mode === 'server') {
    const [a, b] = await Promise.all([client.tokenize(short), client.tokenize(long)])
    if (a !== null && b !== null && b > a) {
      const perWord = fitCalibration({ words: SHORT_WORDS, tokens: a }, { words: LONG_WORDS, tokens: b }, 'server-tokenize')
      // The tokenize endpoint sees raw text; the chat template's overhead comes from one probe.
      const probed = chat ? await client.probePromptTokens(probe(short)) : null
      const overheadTokens = probed !== null ? Math.max(0, probed - a) + perWord.overheadTokens : perWord.overheadTokens
      return { calibration: { ...perWord, overheadTokens }, note: null }
    }
    if (mode === 'server') return { calibration: fallback, note: 'the server has no tokenize endpoint; prompt lengths use the chars-per-token estimate' }
  }
  const [a, b] = await Promise.all([client.probePromptTokens(probe(short)), client.probePromptTokens(probe(long))])
  if (a !== null && b !== null && b > a) return { calibration: fitCalibration({ words: SHORT_WORDS, tokens: a }, { words: LONG_WORDS, tokens: b }, 'probe'), note: null }
  return { calibration: fallback, note: 'the server reported no prompt usage to calibrate with; prompt lengths use the chars-per-token estimate' }
}
