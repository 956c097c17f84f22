/**
 * Generates a synthetic llama-architecture GGUF model. No weights can be downloaded here or in CI,
 * so the model is made from a seed. Its compute per token is that of an ordinary llama model of the
 * same shape; only the weights are synthetic.
 *
 * Plain random weights make a model emit mostly invalid UTF-8, NUL bytes and end-of-sequence, so the
 * weights are "structured": residual dimension 0 carries a large constant that no layer reads (its
 * norm gain is 0) or writes (row 0 of attn_output and ffn_down is 0). After the final RMS norm it is
 * ≈ 1, and column 0 of the output head maps it to ln(English letter frequency) for `a`–`z`, space,
 * `.` and `,`, and to −30 for every other token. Sampling at any temperature therefore yields
 * printable text and never samples EOS, so a request always runs to `max_tokens`. The other
 * dimensions are ordinary random weights that perturb the distribution slightly per context.
 */
import {
  GENERATOR_VERSION,
  MODEL_CONTEXT_LENGTH,
  MODEL_SIZES,
  VOCAB_SIZE,
  TOKEN_BYTE0,
  TOKEN_SPACE,
  CHAT_TEMPLATE,
  modelName,
  type ModelQuant,
  type ModelShape,
  type ModelSize,
} from './model-spec.js'
import { LlamaFileType, gguf, type GgmlTypeName, type GgufValue } from './gguf-format.js'
import type { GgufFileSpec, GgufTensorSource } from './gguf-writer.js'

export interface ModelGenOptions {
  readonly size: ModelSize
  readonly quant: ModelQuant
  readonly seed: number
}

/** Relative frequencies of characters in English text (space included), in percent. */
const CHAR_FREQUENCY_PCT: Readonly<Record<string, number>> = {
  ' ': 18.3, e: 10.2, t: 7.5, a: 6.5, o: 6.2, i: 5.7, n: 5.7, s: 5.3, r: 5.0, h: 5.0, l: 3.3, d: 3.3, u: 2.3,
  c: 2.2, m: 2.0, f: 1.8, w: 1.7, g: 1.6, p: 1.5, y: 1.4, b: 1.2, ',': 1.0, '.': 0.9, v: 0.8, k: 0.6, x: 0.15,
  j: 0.1, q: 0.1, z: 0.07,
}
const BANNED_LOGIT = -30

/** Target logit for every vocabulary entry (column 0 of the output head). */
export function unigramLogits(): Float32Array {
  const logits = new Float32Array(VOCAB_SIZE).fill(BANNED_LOGIT)
  const total = Object.values(CHAR_FREQUENCY_PCT).reduce((a, b) => a + b, 0)
  for (const [ch, pct] of Object.entries(CHAR_FREQUENCY_PCT)) {
    const id = ch === ' ' ? TOKEN_SPACE : TOKEN_BYTE0 + ch.charCodeAt(0)
    logits[id] = Math.log(pct / total)
  }
  return logits
}

/** sfc32 seeded through splitmix32: small, fast and identical on every platform. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) | 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = splitmix(), b = splitmix(), c = splitmix(), d = splitmix()
  return () => {
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
}

const POOL_SIZE = 1 << 20

/**
 * A pool of N(0,1) values; each row copies a random window of it. Drawing every weight through
 * Box-Muller takes ~17 s for the large model; windows over a pool take a fraction of that and are
 * just as good for weights nobody trained.
 */
class NormalPool {
  private readonly pool: Float32Array
  constructor(
    private readonly rand: () => number,
    maxRow: number,
  ) {
    this.pool = new Float32Array(POOL_SIZE + maxRow)
    for (let i = 0; i < POOL_SIZE; i += 2) {
      const u1 = 1 - rand()
      const u2 = rand()
      const r = Math.sqrt(-2 * Math.log(u1))
      this.pool[i] = r * Math.cos(2 * Math.PI * u2)
      this.pool[i + 1] = r * Math.sin(2 * Math.PI * u2)
    }
    this.pool.copyWithin(POOL_SIZE, 0, maxRow)
  }
  fill(row: Float32Array, sigma: number, from = 0): void {
    const start = Math.floor(this.rand() * POOL_SIZE)
    const s = this.rand() < 0.5 ? -sigma : sigma
    for (let i = from; i < row.length; i++) row[i] = (this.pool[start + i] ?? 0) * s
  }
}

/** Builds the full file spec (metadata + tensor sources); writing it is the writer's job. */
export function buildModelSpec(options: ModelGenOptions): GgufFileSpec {
  const shape: ModelShape = MODEL_SIZES[options.size]
  const { embedding: d, layers, heads, headsKv, feedForward: ff } = shape
  const headDim = d / heads
  const kvDim = headDim * headsKv
  const weightType: GgmlTypeName = options.quant === 'q8_0' ? 'Q8_0' : 'F16'
  const pool = new NormalPool(seededRandom(options.seed), Math.max(d, ff))

  // Residual dim 0 holds C with C² = K·d, so RMS(x) ≈ √K whatever the other dims do.
  const K = 1024
  const rmsOfResidual = Math.sqrt(K)
  const constant = Math.sqrt(K * d)
  const residualScale = 1 / Math.sqrt(2 * layers)
  const logits = unigramLogits()

  const matrix = (name: string, cols: number, rows: number, sigma: number, zeroRow0 = false): GgufTensorSource => ({
    name,
    dims: [cols, rows],
    type: weightType,
    fillRow: (r, row) => {
      if (zeroRow0 && r === 0) return
      pool.fill(row, sigma)
    },
  })
  const norm = (name: string, dim0Gain: number, gain: number): GgufTensorSource => ({
    name,
    dims: [d],
    type: 'F32',
    fillRow: (_r, row) => {
      row.fill(gain)
      row[0] = dim0Gain
    },
  })

  const tensors: GgufTensorSource[] = [
    {
      name: 'token_embd.weight',
      dims: [d, VOCAB_SIZE],
      type: weightType,
      fillRow: (_r, row) => {
        pool.fill(row, 1, 1)
        row[0] = constant
      },
    },
  ]
  for (let l = 0; l < layers; l++) {
    const p = `blk.${l}.`
    tensors.push(
      norm(`${p}attn_norm.weight`, 0, rmsOfResidual),
      matrix(`${p}attn_q.weight`, d, d, 1 / Math.sqrt(d)),
      matrix(`${p}attn_k.weight`, d, kvDim, 1 / Math.sqrt(d)),
      matrix(`${p}attn_v.weight`, d, kvDim, 1 / Math.sqrt(d)),
      matrix(`${p}attn_output.weight`, d, d, residualScale / Math.sqrt(d), true),
      norm(`${p}ffn_norm.weight`, 0, rmsOfResidual),
      matrix(`${p}ffn_gate.weight`, d, ff, 1 / Math.sqrt(d)),
      matrix(`${p}ffn_up.weight`, d, ff, 1 / Math.sqrt(d)),
      matrix(`${p}ffn_down.weight`, ff, d, residualScale / Math.sqrt(ff), true),
    )
  }
  // Final norm: dim 0 → C/√K · (1/√d) = 1; other dims pass through at their own scale.
  tensors.push(norm('output_norm.weight', 1 / Math.sqrt(d), rmsOfResidual / Math.sqrt(d)))
  tensors.push({
    name: 'output.weight',
    dims: [d, VOCAB_SIZE],
    type: weightType,
    fillRow: (r, row) => {
      pool.fill(row, 0.5 / Math.sqrt(d), 1)
      row[0] = logits[r] ?? BANNED_LOGIT
    },
  })

  const tokens: string[] = ['<unk>', '<s>', '</s>']
  for (let b = 0; b < 256; b++) tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)
  tokens.push('\u2581')
  const tokenTypes = [2, 3, 3, ...Array<number>(256).fill(6), 1]

  const metadata: Record<string, GgufValue> = {
    'general.architecture': gguf.str('llama'),
    'general.name': gguf.str(modelName(options.size, options.quant)),
    'general.description': gguf.str('Synthetic llama-architecture model generated by tokenwatt from a seed (untrained weights, for benchmarking only).'),
    'general.file_type': gguf.u32(options.quant === 'q8_0' ? LlamaFileType.Q8_0 : LlamaFileType.F16),
    'general.quantization_version': gguf.u32(2),
    'tokenwatt.generator_version': gguf.u32(GENERATOR_VERSION),
    'tokenwatt.size': gguf.str(options.size),
    'tokenwatt.seed': gguf.u32(options.seed >>> 0),
    'llama.context_length': gguf.u32(MODEL_CONTEXT_LENGTH),
    'llama.embedding_length': gguf.u32(d),
    'llama.block_count': gguf.u32(layers),
    'llama.feed_forward_length': gguf.u32(ff),
    'llama.attention.head_count': gguf.u32(heads),
    'llama.attention.head_count_kv': gguf.u32(headsKv),
    'llama.attention.layer_norm_rms_epsilon': gguf.f32(1e-5),
    'llama.rope.freq_base': gguf.f32(10000),
    'llama.rope.dimension_count': gguf.u32(headDim),
    'llama.vocab_size': gguf.u32(VOCAB_SIZE),
    'tokenizer.ggml.model': gguf.str('llama'),
    'tokenizer.ggml.tokens': gguf.strings(tokens),
    'tokenizer.ggml.scores': gguf.f32s(Array<number>(VOCAB_SIZE).fill(0)),
    'tokenizer.ggml.token_type': gguf.i32s(tokenTypes),
    'tokenizer.ggml.bos_token_id': gguf.u32(1),
    'tokenizer.ggml.eos_token_id': gguf.u32(2),
    'tokenizer.ggml.unknown_token_id': gguf.u32(0),
    'tokenizer.ggml.add_bos_token': gguf.bool(true),
    'tokenizer.ggml.add_eos_token': gguf.bool(false),
    'tokenizer.ggml.add_space_prefix': gguf.bool(false),
    'tokenizer.chat_template': gguf.str(CHAT_TEMPLATE),
  }
  return { metadata, tensors }
}
