import type { BenchConfig } from '../config/bench-schema.js'
import type { InferenceRequest } from '../ports.js'
import type { RequestPhase } from '../records.js'
import type { DatasetItem } from './dataset.js'
import { randomWords, wordsForTokens, type TokenCalibration } from './prompts.js'
import { createRng, deriveSeed } from './rng.js'
import { sampleLength } from './sample-length.js'

export interface RequestSlot {
  readonly seq: number
  readonly phase: RequestPhase
  readonly userId: number | null
  readonly scheduledAtNs: number | null
}

/** Makes the request for a slot. Deterministic in `seq`: the same seed gives the same request N. */
export interface Workload {
  request(slot: RequestSlot): InferenceRequest
  /** A plain description for the result record. */
  readonly description: Record<string, unknown>
}

/**
 * Synthetic prompts (target input lengths, optional shared prefix) or dataset prompts, with output
 * lengths from the distribution (or the dataset). Each request draws from its own seeded stream, so
 * request N is the same whatever order the load sends them in.
 */
export function createWorkload(
  config: Pick<BenchConfig, 'workload' | 'target'>,
  calibration: TokenCalibration,
  dataset: readonly DatasetItem[] | null,
): Workload {
  const w = config.workload
  const chat = config.target.api === 'chat'
  const prefix =
    w.sharedPrefixTokens > 0
      ? randomWords(Math.max(1, Math.round(w.sharedPrefixTokens / calibration.tokensPerWord)), createRng(deriveSeed(w.seed, 'prefix')))
      : ''
  const prefixTokens = w.sharedPrefixTokens
  const useDatasetOut = w.dataset?.useDatasetOutputLengths ?? false
  return {
    description: {
      kind: dataset ? 'dataset' : 'synthetic',
      seed: w.seed,
      input: dataset ? null : w.input,
      output: w.output,
      sharedPrefixTokens: w.sharedPrefixTokens,
      dataset: w.dataset ? { path: w.dataset.path, format: w.dataset.format, prompts: dataset?.length ?? 0 } : null,
      calibration,
    },
    request(slot) {
      const rng = createRng(deriveSeed(w.seed, `req:${slot.seq}`))
      let maxTokens = sampleLength(w.output, rng)
      let text: string | null = null
      let messages: InferenceRequest['messages'] = null
      let targetInputTokens: number | null = null
      if (dataset && dataset.length > 0) {
        const item = dataset[slot.seq % dataset.length] as DatasetItem
        if (useDatasetOut && item.outputTokens !== null) maxTokens = item.outputTokens
        if (item.messages) messages = item.messages
        else text = item.text
      } else {
        const target = sampleLength(w.input, rng)
        targetInputTokens = target
        // The template overhead is paid once; the shared prefix is part of the target length.
        const body = randomWords(wordsForTokens(Math.max(1, target - prefixTokens), calibration), rng)
        text = prefix ? `${prefix} ${body}` : body
      }
      if (chat && text !== null && messages === null) {
        messages = [{ role: 'user', content: text }]
        text = null
      }
      if (!chat && text === null && messages !== null) {
        text = messages.map((m) => m.content).join('\n')
        messages = null
      }
      return { seq: slot.seq, phase: slot.phase, userId: slot.userId, scheduledAtNs: slot.scheduledAtNs, text, messages, maxTokens, targetInputTokens }
    },
  }
}
