/**
 * The GGUF v3 container format as llama.cpp reads it (ggml/docs/gguf.md): little-endian; magic
 * "GGUF", version, tensor count (u64), metadata KV count (u64), KV pairs, tensor infos, padding to
 * `general.alignment` (default 32), then tensor data, each tensor starting at an aligned offset.
 * Shared by our writer and our reader so both agree on every byte.
 */

export const GGUF_MAGIC = 0x46554747 // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3
export const GGUF_DEFAULT_ALIGNMENT = 32

/** Metadata value types, numbered as in the spec. */
export const GgufValueType = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const
export type GgufScalarTypeName = Exclude<keyof typeof GgufValueType, 'array'>

/** A typed metadata value: GGUF stores the type next to every value, so JS numbers need a tag. */
export type GgufScalar =
  | { readonly type: 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64'; readonly value: number }
  | { readonly type: 'uint64' | 'int64'; readonly value: bigint }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'string'; readonly value: string }

export type GgufArray =
  | { readonly type: 'array'; readonly itemType: 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64'; readonly value: readonly number[] }
  | { readonly type: 'array'; readonly itemType: 'uint64' | 'int64'; readonly value: readonly bigint[] }
  | { readonly type: 'array'; readonly itemType: 'bool'; readonly value: readonly boolean[] }
  | { readonly type: 'array'; readonly itemType: 'string'; readonly value: readonly string[] }

export type GgufValue = GgufScalar | GgufArray

/** Constructors for typed metadata values, so call sites read like the spec. */
export const gguf = {
  u8: (value: number): GgufValue => ({ type: 'uint8', value }),
  i8: (value: number): GgufValue => ({ type: 'int8', value }),
  u16: (value: number): GgufValue => ({ type: 'uint16', value }),
  i16: (value: number): GgufValue => ({ type: 'int16', value }),
  u32: (value: number): GgufValue => ({ type: 'uint32', value }),
  i32: (value: number): GgufValue => ({ type: 'int32', value }),
  f32: (value: number): GgufValue => ({ type: 'float32', value }),
  f64: (value: number): GgufValue => ({ type: 'float64', value }),
  u64: (value: bigint): GgufValue => ({ type: 'uint64', value }),
  i64: (value: bigint): GgufValue => ({ type: 'int64', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  str: (value: string): GgufValue => ({ type: 'string', value }),
  strings: (value: readonly string[]): GgufValue => ({ type: 'array', itemType: 'string', value }),
  i32s: (value: readonly number[]): GgufValue => ({ type: 'array', itemType: 'int32', value }),
  f32s: (value: readonly number[]): GgufValue => ({ type: 'array', itemType: 'float32', value }),
} as const

/** Tensor element types we write and read (ggml_type numbering). */
export const GgmlType = { F32: 0, F16: 1, Q8_0: 8 } as const
export type GgmlTypeName = keyof typeof GgmlType

/** Q8_0: blocks of 32 weights stored as one f16 scale and 32 int8 values (34 bytes). */
export const Q8_0_BLOCK = 32
export const Q8_0_BLOCK_BYTES = 34

export function ggmlTypeName(id: number): GgmlTypeName | undefined {
  for (const [name, value] of Object.entries(GgmlType)) if (value === id) return name as GgmlTypeName
  return undefined
}

/** Bytes taken by `elements` values of `type`; Q8_0 needs a multiple of 32 (checked by callers). */
export function tensorBytes(type: GgmlTypeName, elements: number): number {
  switch (type) {
    case 'F32':
      return elements * 4
    case 'F16':
      return elements * 2
    case 'Q8_0':
      return (elements / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES
  }
}

export function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment
}

/** llama.cpp's `general.file_type` (llama_ftype) for a whole-model type. */
export const LlamaFileType = { F16: 1, Q8_0: 7 } as const
