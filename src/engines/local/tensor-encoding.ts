/**
 * Encoders and decoders for the tensor element types we write: F32, F16 (IEEE half; Node 20 has no
 * Float16Array, so the conversion is done by hand) and Q8_0 (ggml's 8-bit block quantisation).
 * The decoders exist for round-trip tests and for reading tensors back from a file.
 */
import { Q8_0_BLOCK, Q8_0_BLOCK_BYTES, tensorBytes, type GgmlTypeName } from './gguf-format.js'

const f32Scratch = new Float32Array(1)
const u32Scratch = new Uint32Array(f32Scratch.buffer)
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** float32 → IEEE 754 half bits, round to nearest even (as numpy and ggml's reference do). */
export function toHalfBits(value: number): number {
  f32Scratch[0] = value
  const bits = u32Scratch[0] ?? 0
  const sign = (bits >>> 16) & 0x8000
  const exp = (bits >>> 23) & 0xff
  let mant = bits & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0)
  const e = exp - 127 + 15
  if (e >= 31) return sign | 0x7c00
  if (e <= 0) {
    if (e < -10) return sign
    mant |= 0x800000
    const shift = 14 - e
    let half = mant >>> shift
    const rem = mant & ((1 << shift) - 1)
    const halfway = 1 << (shift - 1)
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half += 1
    return sign | half
  }
  let half = (e << 10) | (mant >>> 13)
  const rem = mant & 0x1fff
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half += 1 // may carry into the exponent: correct
  return sign | half
}

/** IEEE 754 half bits → number. */
export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1
  const exp = (h >>> 10) & 0x1f
  const mant = h & 0x3ff
  if (exp === 0) return sign * mant * 2 ** -24
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN
  return sign * (1 + mant / 1024) * 2 ** (exp - 15)
}

/**
 * Encodes `values` as `type` into `out` at `offset` and returns the bytes written. `out` must be a
 * Uint8Array whose byteOffset is a multiple of 4 when writing F32 (we go through a DataView, so any
 * offset works, but views keep it fast).
 */
export function encodeTensorRow(type: GgmlTypeName, values: Float32Array, out: Uint8Array, offset: number): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  const n = values.length
  switch (type) {
    case 'F32':
      for (let i = 0; i < n; i++) view.setFloat32(offset + i * 4, values[i] ?? 0, true)
      return n * 4
    case 'F16': {
      const at = out.byteOffset + offset
      if (at % 2 === 0 && LITTLE_ENDIAN) {
        const halves = new Uint16Array(out.buffer, at, n)
        for (let i = 0; i < n; i++) halves[i] = toHalfBits(values[i] ?? 0)
      } else {
        for (let i = 0; i < n; i++) view.setUint16(offset + i * 2, toHalfBits(values[i] ?? 0), true)
      }
      return n * 2
    }
    case 'Q8_0': {
      if (n % Q8_0_BLOCK !== 0) throw new RangeError(`Q8_0 rows need a multiple of ${Q8_0_BLOCK} values, got ${n}`)
      let o = offset
      for (let b = 0; b < n; b += Q8_0_BLOCK) {
        let amax = 0
        for (let j = 0; j < Q8_0_BLOCK; j++) amax = Math.max(amax, Math.abs(values[b + j] ?? 0))
        const d = Math.fround(amax / 127)
        const id = d !== 0 ? 1 / d : 0
        view.setUint16(o, toHalfBits(d), true)
        for (let j = 0; j < Q8_0_BLOCK; j++) {
          const x = (values[b + j] ?? 0) * id
          const q = Math.sign(x) * Math.round(Math.abs(x)) // roundf: half away from zero
          view.setInt8(o + 2 + j, Math.max(-128, Math.min(127, q)))
        }
        o += Q8_0_BLOCK_BYTES
      }
      return o - offset
    }
  }
}

/** Decodes `elements` values of `type` from `bytes` (the inverse of encodeTensorRow, up to rounding). */
export function decodeTensor(type: GgmlTypeName, bytes: Uint8Array, elements: number): Float32Array {
  const need = tensorBytes(type, elements)
  if (bytes.byteLength < need) throw new RangeError(`need ${need} bytes for ${elements} ${type} values, got ${bytes.byteLength}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out = new Float32Array(elements)
  switch (type) {
    case 'F32':
      for (let i = 0; i < elements; i++) out[i] = view.getFloat32(i * 4, true)
      break
    case 'F16':
      for (let i = 0; i < elements; i++) out[i] = fromHalfBits(view.getUint16(i * 2, true))
      break
    case 'Q8_0':
      for (let b = 0; b < elements / Q8_0_BLOCK; b++) {
        const o = b * Q8_0_BLOCK_BYTES
        const d = fromHalfBits(view.getUint16(o, true))
        for (let j = 0; j < Q8_0_BLOCK; j++) out[b * Q8_0_BLOCK + j] = d * view.getInt8(o + 2 + j)
      }
      break
  }
  return out
}
