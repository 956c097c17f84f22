/**
 * llama.cpp in this process through node-llama-cpp: one model, one context with `parallel`
 * sequences (node-llama-cpp batches pending sequences into one llama_decode per step), a FIFO
 * queue beyond that, and exact token counting. Nothing is downloaded or compiled at run time
 * (`build: 'never'`), and threads default to 1 because two ggml threads on a 2-vCPU VM spin at a
 * barrier after every op and run 10–40× slower (research/llm-feasibility.md).
 */
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp'
import { EngineError } from '../../core/errors.js'
import { EngineMetrics } from './engine-metrics.js'
import { readGgufFile } from './gguf-reader.js'
import { SequencePool } from './sequence-pool.js'

export interface NodeLlamaBackendOptions {
  readonly modelPath: string
  /** Parallel sequences sharing the context (llama-server's -np). */
  readonly parallel: number
  /** Context length of each sequence, in tokens. */
  readonly contextPerSequence: number
  readonly threads: number
  /** Tokens per llama_decode batch (llama-server's -b); default min(512, contextPerSequence). */
  readonly batchSize?: number
  /** Receives llama.cpp warnings and errors. */
  readonly onLog?: (line: string) => void
}

export interface SamplingOptions {
  readonly temperature: number
  readonly topP: number
  readonly topK: number
  readonly minP: number
  readonly seed: number
}

export interface GenerateRequest {
  /** Prompt tokens without BOS (the backend prepends it). */
  readonly promptTokens: readonly number[]
  readonly maxTokens: number
  readonly sampling: SamplingOptions
  /** When false, an end-of-generation token ends the request with finish reason `stop`. */
  readonly ignoreEos: boolean
  readonly signal: AbortSignal
  /**
   * Called once per generated token with the text it completes ('' while a multi-byte UTF-8
   * character is still incomplete). Return false to stop (e.g. a stop string matched).
   */
  readonly onToken: (piece: string) => boolean | void
}

export type FinishReason = 'length' | 'stop' | 'abort'

export interface GenerateResult {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly finishReason: FinishReason
  readonly queueMs: number
  readonly promptMs: number
  readonly decodeMs: number
  /** Text still held back at the end (an incomplete UTF-8 tail), to append to the output. */
  readonly tail: string
}

/** What the HTTP server needs from an engine. */
export interface GenerationBackend {
  readonly contextPerSequence: number
  readonly metrics: EngineMetrics
  readonly slots: number
  readonly processing: number
  readonly deferred: number
  tokenize(text: string): number[]
  detokenize(tokens: readonly number[]): string
  generate(req: GenerateRequest): Promise<GenerateResult>
  dispose(): Promise<void>
}

export class NodeLlamaBackend implements GenerationBackend {
  readonly metrics = new EngineMetrics()
  /** Text of tokens that decode on their own (no partial UTF-8), so the hot path skips a native call. */
  private readonly pieces = new Map<number, string>()
  private readonly pool: SequencePool<LlamaContextSequence>

  private constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    sequences: LlamaContextSequence[],
    readonly contextPerSequence: number,
  ) {
    this.pool = new SequencePool(sequences)
  }

  get slots(): number {
    return this.pool.size
  }
  get processing(): number {
    return this.pool.inUse
  }
  get deferred(): number {
    return this.pool.waiting
  }

  /** Validates the file, then loads it and creates the shared context. */
  static async load(options: NodeLlamaBackendOptions): Promise<NodeLlamaBackend> {
    if (!Number.isInteger(options.parallel) || options.parallel < 1) throw new EngineError(`--parallel must be a positive integer, got ${options.parallel}`)
    if (!Number.isInteger(options.threads) || options.threads < 1) throw new EngineError(`--threads must be a positive integer, got ${options.threads}`)
    if (!Number.isInteger(options.contextPerSequence) || options.contextPerSequence < 16) throw new EngineError(`--ctx must be an integer ≥ 16, got ${options.contextPerSequence}`)
    await readGgufFile(options.modelPath)
    let lib: typeof import('node-llama-cpp')
    try {
      lib = await import('node-llama-cpp')
    } catch (e) {
      throw new EngineError(`cannot load node-llama-cpp: ${(e as Error).message}`, { hint: 'reinstall dependencies with `npm ci`', cause: e })
    }
    const onLog = options.onLog
    let llama: Llama
    try {
      llama = await lib.getLlama({
        // Apple Silicon has only the Metal prebuilt; gpuLayers: 0 below still keeps the weights on the CPU.
        gpu: process.platform === 'darwin' && process.arch === 'arm64' ? 'metal' : false,
        build: 'never',
        usePrebuiltBinaries: true,
        progressLogs: false,
        maxThreads: options.threads,
        logLevel: lib.LlamaLogLevel.warn,
        logger: (level, message) => {
          const text = message.trimEnd()
          if (onLog && text !== '' && (level === lib.LlamaLogLevel.error || level === lib.LlamaLogLevel.fatal || level === lib.LlamaLogLevel.warn)) onLog(`llama.cpp ${level}: ${text}`)
        },
      })
    } catch (e) {
      throw new EngineError(`node-llama-cpp has no usable llama.cpp binary for this machine: ${(e as Error).message}`, {
        hint: 'the prebuilt @node-llama-cpp/<platform> package must be installed (npm ci); or use --engine llama-server after `tokenwatt engine build`',
        cause: e,
      })
    }
    try {
      const model = await llama.loadModel({ modelPath: options.modelPath, gpuLayers: 0 })
      const context = await model.createContext({
        contextSize: options.contextPerSequence,
        sequences: options.parallel,
        threads: options.threads,
        batchSize: options.batchSize ?? Math.min(512, options.contextPerSequence),
      })
      const sequences: LlamaContextSequence[] = []
      for (let i = 0; i < options.parallel; i++) sequences.push(context.getSequence())
      return new NodeLlamaBackend(llama, model, context, sequences, context.contextSize)
    } catch (e) {
      await llama.dispose().catch(() => undefined)
      throw new EngineError(`llama.cpp could not load ${options.modelPath}: ${(e as Error).message}`, {
        hint: 'lower --parallel or --ctx if memory is short, or delete the cached model to regenerate it',
        cause: e,
      })
    }
  }

  tokenize(text: string): number[] {
    return this.model.tokenize(text, false)
  }

  detokenize(tokens: readonly number[]): string {
    return this.model.detokenize(tokens as Token[])
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    const queuedAt = performance.now()
    let seq: LlamaContextSequence
    try {
      seq = await this.pool.acquire(req.signal)
    } catch {
      this.metrics.record({ promptTokens: 0, promptS: 0, predictedTokens: 0, predictedS: 0, outcome: 'aborted' })
      return { promptTokens: 0, completionTokens: 0, finishReason: 'abort', queueMs: performance.now() - queuedAt, promptMs: 0, decodeMs: 0, tail: '' }
    }
    const startedAt = performance.now()
    let firstTokenAt = startedAt
    let lastTokenAt = startedAt
    let completion = 0
    let finishReason: FinishReason = 'length'
    let outcome: 'ok' | 'aborted' | 'failed' = 'ok'
    const pending: Token[] = []
    const bos = this.model.tokens.bos
    const input = (bos === null ? [] : [bos]).concat(req.promptTokens as Token[])
    try {
      await seq.clearHistory()
      if (req.signal.aborted) {
        finishReason = 'abort'
      } else if (req.maxTokens > 0) {
        const { temperature, topP, topK, minP, seed } = req.sampling
        // Driven by hand rather than `for await` so the decode of token n+1 (native, off the JS
        // thread) is already running while token n is detokenized and written to the client: the
        // server's per-token JS work overlaps the engine's compute instead of adding to it.
        const tokens = seq.evaluate(input, { temperature, topP, topK, minP, seed, yieldEogToken: true })
        try {
          let step = await tokens.next()
          while (step.done !== true) {
            const token = step.value
            const now = performance.now()
            if (completion === 0) firstTokenAt = now
            lastTokenAt = now
            if (req.signal.aborted) {
              finishReason = 'abort'
              break
            }
            if (!req.ignoreEos && this.model.isEogToken(token)) {
              finishReason = 'stop'
              break
            }
            completion += 1
            const last = completion >= req.maxTokens
            const next = last ? null : tokens.next()
            let piece = pending.length === 0 ? this.pieces.get(token) : undefined
            if (piece === undefined) {
              pending.push(token)
              piece = this.model.detokenize(pending)
              // Hold tokens back while they end inside a multi-byte UTF-8 character (at most 4 bytes).
              if (piece.endsWith('\uFFFD') && pending.length < 4) piece = ''
              else {
                if (pending.length === 1) this.pieces.set(token, piece)
                pending.length = 0
              }
            }
            let more: boolean | void
            try {
              more = req.onToken(piece)
            } catch (e) {
              await next?.catch(() => undefined)
              throw e
            }
            if (more === false) finishReason = 'stop'
            if (next === null) break
            step = await next
            if (more === false) break
          }
        } finally {
          await tokens.return()
        }
      }
    } catch (e) {
      outcome = 'failed'
      throw new EngineError(`generation failed: ${(e as Error).message}`, { cause: e })
    } finally {
      if (finishReason === 'abort') outcome = 'aborted'
      this.metrics.record({
        promptTokens: completion > 0 ? input.length : 0,
        promptS: completion > 0 ? (firstTokenAt - startedAt) / 1000 : 0,
        predictedTokens: completion,
        predictedS: (lastTokenAt - firstTokenAt) / 1000,
        outcome,
      })
      this.pool.release(seq)
    }
    return {
      promptTokens: input.length,
      completionTokens: completion,
      finishReason,
      queueMs: startedAt - queuedAt,
      promptMs: firstTokenAt - startedAt,
      decodeMs: lastTokenAt - firstTokenAt,
      tail: pending.length > 0 ? this.model.detokenize(pending) : '',
    }
  }

  async dispose(): Promise<void> {
    await this.context.dispose()
    await this.model.dispose()
    await this.llama.dispose()
  }
}
