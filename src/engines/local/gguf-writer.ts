/**
 * A streaming GGUF v3 writer. No npm package writes whole GGUF files (only metadata headers), so we
 * write our own: header, metadata, tensor infos, then tensor data produced row by row, so a 600 MB
 * model is written with a few MB of memory. The output is a pure function of its input (no
 * timestamps, stable key order), which lets the model cache key files by a content hash.
 */
import { createHash } from 'node:crypto'
import { open } from 'node:fs/promises'
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VERSION,
  GgmlType,
  GgufValueType,
  alignUp,
  tensorBytes,
  type GgmlTypeName,
  type GgufValue,
} from './gguf-format.js'
import { encodeTensorRow } from './tensor-encoding.js'

/** One tensor: its shape and a callback that produces its rows in order. */
export interface GgufTensorSource {
  readonly name: string
  /** Dimensions in ggml order: `dims[0]` is the contiguous row length (the "columns"). */
  readonly dims: readonly number[]
  readonly type: GgmlTypeName
  /** Fills `row` (dims[0] values) with row `index`; called once per row, in order. */
  fillRow(index: number, row: Float32Array): void
}

export interface GgufFileSpec {
  /** Key order is kept as given. `general.alignment` (u32), if present, sets the alignment. */
  readonly metadata: Readonly<Record<string, GgufValue>>
  readonly tensors: readonly GgufTensorSource[]
}

/** Where bytes go; `write` may keep the chunk only until its promise resolves. */
export interface GgufSink {
  write(chunk: Uint8Array): Promise<void>
}

export interface GgufWriteResult {
  readonly bytes: number
  /** Hex SHA-256 of everything written. */
  readonly sha256: string
}

const FLUSH_BYTES = 1 << 20

/** Grows as needed; used for the header, where sizes are small and not known in advance. */
class ByteBuilder {
  private buf = new Uint8Array(1 << 16)
  private view = new DataView(this.buf.buffer)
  length = 0
  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.length + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.length))
    this.buf = next
    this.view = new DataView(next.buffer)
  }
  u8(v: number): void { this.ensure(1); this.view.setUint8(this.length, v); this.length += 1 }
  i8(v: number): void { this.ensure(1); this.view.setInt8(this.length, v); this.length += 1 }
  u16(v: number): void { this.ensure(2); this.view.setUint16(this.length, v, true); this.length += 2 }
  i16(v: number): void { this.ensure(2); this.view.setInt16(this.length, v, true); this.length += 2 }
  u32(v: number): void { this.ensure(4); this.view.setUint32(this.length, v, true); this.length += 4 }
  i32(v: number): void { this.ensure(4); this.view.setInt32(this.length, v, true); this.length += 4 }
  f32(v: number): void { this.ensure(4); this.view.setFloat32(this.length, v, true); this.length += 4 }
  f64(v: number): void { this.ensure(8); this.view.setFloat64(this.length, v, true); this.length += 8 }
  u64(v: bigint): void { this.ensure(8); this.view.setBigUint64(this.length, v, true); this.length += 8 }
  i64(v: bigint): void { this.ensure(8); this.view.setBigInt64(this.length, v, true); this.length += 8 }
  str(s: string): void {
    const bytes = Buffer.from(s, 'utf8')
    this.u64(BigInt(bytes.length))
    this.ensure(bytes.length)
    this.buf.set(bytes, this.length)
    this.length += bytes.length
  }
  pad(to: number): void {
    const n = alignUp(this.length, to) - this.length
    this.ensure(n)
    this.buf.fill(0, this.length, this.length + n)
    this.length += n
  }
  bytes(): Uint8Array { return this.buf.subarray(0, this.length) }
}

type ScalarItemType = Exclude<keyof typeof GgufValueType, 'array'>

function writeScalar(b: ByteBuilder, type: ScalarItemType, value: number | bigint | boolean | string): void {
  switch (type) {
    case 'uint8': return b.u8(value as number)
    case 'int8': return b.i8(value as number)
    case 'uint16': return b.u16(value as number)
    case 'int16': return b.i16(value as number)
    case 'uint32': return b.u32(value as number)
    case 'int32': return b.i32(value as number)
    case 'float32': return b.f32(value as number)
    case 'float64': return b.f64(value as number)
    case 'uint64': return b.u64(value as bigint)
    case 'int64': return b.i64(value as bigint)
    case 'bool': return b.u8(value ? 1 : 0)
    case 'string': return b.str(value as string)
  }
}

function checkScalar(key: string, type: ScalarItemType, value: unknown): void {
  const ranges: Partial<Record<ScalarItemType, readonly [number, number]>> = {
    uint8: [0, 0xff], int8: [-0x80, 0x7f], uint16: [0, 0xffff], int16: [-0x8000, 0x7fff],
    uint32: [0, 0xffffffff], int32: [-0x80000000, 0x7fffffff],
  }
  const range = ranges[type]
  if (range && (typeof value !== 'number' || !Number.isInteger(value) || value < range[0] || value > range[1])) {
    throw new RangeError(`metadata ${key}: ${String(value)} is not a valid ${type}`)
  }
}

function writeValue(b: ByteBuilder, key: string, v: GgufValue): void {
  b.u32(GgufValueType[v.type])
  if (v.type === 'array') {
    b.u32(GgufValueType[v.itemType])
    b.u64(BigInt(v.value.length))
    for (const item of v.value) {
      checkScalar(key, v.itemType, item)
      writeScalar(b, v.itemType, item)
    }
    return
  }
  checkScalar(key, v.type, v.value)
  writeScalar(b, v.type, v.value)
}

function alignmentOf(spec: GgufFileSpec): number {
  const a = spec.metadata['general.alignment']
  if (a === undefined) return GGUF_DEFAULT_ALIGNMENT
  if (a.type !== 'uint32' || a.value <= 0 || a.value % 8 !== 0) throw new RangeError('general.alignment must be a uint32 multiple of 8')
  return a.value
}

function elementsOf(t: GgufTensorSource): number {
  if (t.dims.length < 1 || t.dims.length > 4) throw new RangeError(`tensor ${t.name}: 1 to 4 dimensions, got ${t.dims.length}`)
  for (const d of t.dims) if (!Number.isInteger(d) || d <= 0) throw new RangeError(`tensor ${t.name}: bad dimension ${d}`)
  if (t.type === 'Q8_0' && (t.dims[0] ?? 0) % 32 !== 0) throw new RangeError(`tensor ${t.name}: Q8_0 needs dims[0] % 32 == 0`)
  return t.dims.reduce((a, d) => a * d, 1)
}

/** Serialises the header (everything before the tensor data, padded) and returns each tensor's data size. */
export function buildGgufHeader(spec: GgufFileSpec): { header: Uint8Array; dataBytes: number[]; alignment: number } {
  const alignment = alignmentOf(spec)
  const names = new Set<string>()
  const b = new ByteBuilder()
  b.u32(GGUF_MAGIC)
  b.u32(GGUF_VERSION)
  b.u64(BigInt(spec.tensors.length))
  const entries = Object.entries(spec.metadata)
  b.u64(BigInt(entries.length))
  for (const [key, value] of entries) {
    b.str(key)
    writeValue(b, key, value)
  }
  const dataBytes: number[] = []
  let offset = 0
  for (const t of spec.tensors) {
    if (names.has(t.name)) throw new RangeError(`duplicate tensor name ${t.name}`)
    names.add(t.name)
    const size = tensorBytes(t.type, elementsOf(t))
    b.str(t.name)
    b.u32(t.dims.length)
    for (const d of t.dims) b.u64(BigInt(d))
    b.u32(GgmlType[t.type])
    b.u64(BigInt(offset))
    dataBytes.push(size)
    offset = alignUp(offset + size, alignment)
  }
  b.pad(alignment)
  return { header: b.bytes(), dataBytes, alignment }
}

/** Writes a whole GGUF file to `sink`, streaming tensor rows through a 1 MB buffer. */
export async function writeGguf(spec: GgufFileSpec, sink: GgufSink): Promise<GgufWriteResult> {
  const { header, dataBytes, alignment } = buildGgufHeader(spec)
  const hash = createHash('sha256')
  let total = 0
  const out = new Uint8Array(FLUSH_BYTES + (1 << 16))
  let used = 0
  const flush = async (): Promise<void> => {
    if (used === 0) return
    const chunk = out.subarray(0, used)
    hash.update(chunk)
    await sink.write(chunk)
    total += used
    used = 0
  }
  hash.update(header)
  await sink.write(header)
  total += header.length
  for (const [i, t] of spec.tensors.entries()) {
    const cols = t.dims[0] ?? 0
    const rows = t.dims.slice(1).reduce((a, d) => a * d, 1)
    const row = new Float32Array(cols)
    const rowBytes = tensorBytes(t.type, cols)
    let big: Uint8Array | undefined
    for (let r = 0; r < rows; r++) {
      row.fill(0)
      t.fillRow(r, row)
      if (rowBytes > out.length - used) await flush()
      if (rowBytes > out.length) {
        big ??= new Uint8Array(rowBytes)
        encodeTensorRow(t.type, row, big, 0)
        hash.update(big)
        await sink.write(big)
        total += rowBytes
        continue
      }
      used += encodeTensorRow(t.type, row, out, used)
      if (used >= FLUSH_BYTES) await flush()
    }
    const size = dataBytes[i] ?? 0
    const padding = alignUp(size, alignment) - size
    if (padding > out.length - used) await flush()
    out.fill(0, used, used + padding)
    used += padding
  }
  await flush()
  return { bytes: total, sha256: hash.digest('hex') }
}

/** Writes a GGUF file at `path` (created or truncated). Callers wanting atomicity write to a temp path and rename. */
export async function writeGgufFile(path: string, spec: GgufFileSpec): Promise<GgufWriteResult> {
  const fh = await open(path, 'w')
  try {
    const write = async (chunk: Uint8Array): Promise<void> => {
      let done = 0
      while (done < chunk.length) done += (await fh.write(chunk, done, chunk.length - done)).bytesWritten
    }
    const result = await writeGguf(spec, { write })
    await fh.sync()
    return result
  } finally {
    await fh.close()
  }
}
