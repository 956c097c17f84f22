/**
 * The synthetic llama-architecture models tokenwatt generates. Sizes are chosen so per-token cost
 * spans two orders of magnitude on one CPU thread (see research/llm-feasibility.md): `tiny` for
 * fast tests, `small` for the demo, `medium`/`large` for realistic per-token compute.
 */

export interface ModelShape {
  /** Hidden size (llama.embedding_length). */
  readonly embedding: number
  readonly layers: number
  readonly heads: number
  readonly headsKv: number
  readonly feedForward: number
}

export const MODEL_SIZES = {
  tiny: { embedding: 256, layers: 4, heads: 4, headsKv: 4, feedForward: 704 },
  small: { embedding: 768, layers: 8, heads: 12, headsKv: 12, feedForward: 2048 },
  medium: { embedding: 1024, layers: 12, heads: 16, headsKv: 16, feedForward: 2816 },
  large: { embedding: 1024, layers: 24, heads: 16, headsKv: 16, feedForward: 2816 },
} as const satisfies Record<string, ModelShape>

export type ModelSize = keyof typeof MODEL_SIZES
export const MODEL_SIZE_NAMES = Object.keys(MODEL_SIZES) as ModelSize[]

export const MODEL_QUANTS = ['f16', 'q8_0'] as const
export type ModelQuant = (typeof MODEL_QUANTS)[number]

/**
 * Bumped whenever the generator's output changes for the same inputs, so cached files made by an
 * older version are never reused under the same key.
 */
export const GENERATOR_VERSION = 1

/** Trained context length written to the file; the server's per-sequence context may be smaller. */
export const MODEL_CONTEXT_LENGTH = 32768

/** Byte-level SPM vocabulary: `<unk> <s> </s> <0x00>..<0xFF> ▁`. One character of ASCII = one token. */
export const VOCAB_SIZE = 3 + 256 + 1
export const TOKEN_UNK = 0
export const TOKEN_BOS = 1
export const TOKEN_EOS = 2
export const TOKEN_BYTE0 = 3
export const TOKEN_SPACE = 259

/** The prompt format both engines use: node renders it in JS, llama-server reads it from the file. */
export const CHAT_TEMPLATE =
  "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}"

export function isModelSize(s: string): s is ModelSize {
  return Object.hasOwn(MODEL_SIZES, s)
}
export function isModelQuant(s: string): s is ModelQuant {
  return (MODEL_QUANTS as readonly string[]).includes(s)
}

/** The name the servers report in /v1/models, e.g. `tokenwatt-small-f16`. */
export function modelName(size: ModelSize, quant: ModelQuant): string {
  return `tokenwatt-${size}-${quant}`
}

/** Parameter count (weights only), as llama.cpp reports it. */
export function parameterCount(shape: ModelShape): number {
  const d = shape.embedding
  const kvDim = (d / shape.heads) * shape.headsKv
  const perLayer = d * d * 2 + d * kvDim * 2 + 3 * d * shape.feedForward + 2 * d
  return 2 * VOCAB_SIZE * d + shape.layers * perLayer + d
}
