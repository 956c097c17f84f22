/**
 * A GGUF v3 parser. It reads the header, metadata and tensor infos, checks that every tensor's data
 * lies inside the file, and can read a tensor back. We use it to validate a model before handing it
 * to llama.cpp (which aborts the whole process on some malformed files) and to test our writer.
 */
import { open, type FileHandle } from 'node:fs/promises'
import { EngineError } from '../../core/errors.js'
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GgufValueType,
  alignUp,
  ggmlTypeName,
  tensorBytes,
  type GgmlTypeName,
  type GgufValue,
} from './gguf-format.js'
import { decodeTensor } from './tensor-encoding.js'

export interface GgufTensorInfo {
  readonly name: string
  /** ggml order: dims[0] is the row length. */
  readonly dims: readonly number[]
  readonly type: GgmlTypeName
  /** Offset of the data from the start of the data section. */
  readonly offset: number
  readonly byteSize: number
}

export interface GgufFile {
  readonly path: string
  readonly version: number
  readonly alignment: number
  readonly metadata: ReadonlyMap<string, GgufValue>
  readonly tensors: readonly GgufTensorInfo[]
  /** Absolute file offset of the data section. */
  readonly dataOffset: number
  readonly fileBytes: number
}

const MAX_COUNT = 1 << 24
const MAX_STRING_BYTES = 1 << 26
const CHUNK = 1 << 16

const TYPE_NAMES = Object.fromEntries(Object.entries(GgufValueType).map(([k, v]) => [v, k])) as Record<number, keyof typeof GgufValueType>
const SCALAR_BYTES: Partial<Record<keyof typeof GgufValueType, number>> = {
  uint8: 1, int8: 1, bool: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4, uint64: 8, int64: 8, float64: 8,
}

class Malformed extends Error {}

/** A forward-only reader over a file handle that refills a small buffer on demand. */
class Cursor {
  private buf = new Uint8Array(0)
  private view = new DataView(this.buf.buffer)
  private bufStart = 0
  pos = 0
  constructor(
    private readonly fh: FileHandle,
    readonly fileBytes: number,
  ) {}

  private async ensure(n: number, what: string): Promise<number> {
    if (this.pos + n > this.fileBytes) throw new Malformed(`truncated: ${what} at byte ${this.pos} needs ${n} bytes but the file ends at ${this.fileBytes}`)
    const rel = this.pos - this.bufStart
    if (rel >= 0 && rel + n <= this.buf.length) return rel
    const size = Math.min(Math.max(n, CHUNK), this.fileBytes - this.pos)
    const next = new Uint8Array(size)
    let got = 0
    while (got < size) {
      const { bytesRead } = await this.fh.read(next, got, size - got, this.pos + got)
      if (bytesRead === 0) throw new Malformed(`truncated: short read at byte ${this.pos + got}`)
      got += bytesRead
    }
    this.buf = next
    this.view = new DataView(next.buffer)
    this.bufStart = this.pos
    return 0
  }

  async u32(what: string): Promise<number> { const r = await this.ensure(4, what); this.pos += 4; return this.view.getUint32(r, true) }
  async u64(what: string): Promise<bigint> { const r = await this.ensure(8, what); this.pos += 8; return this.view.getBigUint64(r, true) }

  /** A u64 count that must fit in a JS number and be plausible. */
  async count(what: string, max = MAX_COUNT): Promise<number> {
    const v = await this.u64(what)
    if (v > BigInt(max)) throw new Malformed(`${what} is ${v}, which is implausible (max ${max})`)
    return Number(v)
  }

  async str(what: string): Promise<string> {
    const len = await this.count(`${what} length`, MAX_STRING_BYTES)
    const r = await this.ensure(len, what)
    this.pos += len
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + r, len).toString('utf8')
  }

  async scalar(type: keyof typeof GgufValueType, what: string): Promise<number | bigint | boolean | string> {
    if (type === 'string') return this.str(what)
    const size = SCALAR_BYTES[type]
    if (size === undefined) throw new Malformed(`${what}: nested arrays are not supported`)
    const r = await this.ensure(size, what)
    this.pos += size
    const v = this.view
    switch (type) {
      case 'uint8': return v.getUint8(r)
      case 'int8': return v.getInt8(r)
      case 'bool': return v.getUint8(r) !== 0
      case 'uint16': return v.getUint16(r, true)
      case 'int16': return v.getInt16(r, true)
      case 'uint32': return v.getUint32(r, true)
      case 'int32': return v.getInt32(r, true)
      case 'float32': return v.getFloat32(r, true)
      case 'float64': return v.getFloat64(r, true)
      case 'uint64': return v.getBigUint64(r, true)
      case 'int64': return v.getBigInt64(r, true)
      default: throw new Malformed(`${what}: unexpected type ${type}`)
    }
  }

  async valueType(what: string): Promise<keyof typeof GgufValueType> {
    const id = await this.u32(what)
    const name = TYPE_NAMES[id]
    if (name === undefined) throw new Malformed(`${what}: unknown value type ${id}`)
    return name
  }
}

async function readValue(c: Cursor, key: string): Promise<GgufValue> {
  const type = await c.valueType(`type of ${key}`)
  if (type !== 'array') return { type, value: await c.scalar(type, key) } as GgufValue
  const itemType = await c.valueType(`item type of ${key}`)
  if (itemType === 'array') throw new Malformed(`${key}: nested arrays are not supported`)
  const n = await c.count(`length of ${key}`)
  const minItemBytes = SCALAR_BYTES[itemType] ?? 8
  if (n * minItemBytes > c.fileBytes - c.pos) throw new Malformed(`truncated: ${key} claims ${n} items, more than the file holds`)
  const values: unknown[] = []
  for (let i = 0; i < n; i++) values.push(await c.scalar(itemType, `${key}[${i}]`))
  return { type: 'array', itemType, value: values } as GgufValue
}

function invalid(path: string, reason: string, cause?: unknown): EngineError {
  return new EngineError(`model file ${path} is not a valid GGUF file: ${reason}`, {
    hint: 'the file is truncated or corrupt; delete it (or pass another --cache-dir) and tokenwatt generates a fresh one',
    cause,
  })
}

/**
 * Parses and checks a GGUF file's header. Throws an EngineError with a hint for a missing,
 * truncated or malformed file; never reads tensor data.
 */
export async function readGgufFile(path: string): Promise<GgufFile> {
  let fh: FileHandle
  try {
    fh = await open(path, 'r')
  } catch (e) {
    throw new EngineError(`cannot open model file ${path}: ${(e as Error).message}`, { hint: 'check the path, or let tokenwatt generate the model into its cache', cause: e })
  }
  try {
    const fileBytes = (await fh.stat()).size
    const c = new Cursor(fh, fileBytes)
    const magic = await c.u32('magic')
    if (magic !== GGUF_MAGIC) throw new Malformed(`bad magic 0x${magic.toString(16).padStart(8, '0')} (expected "GGUF")`)
    const version = await c.u32('version')
    if (version !== 2 && version !== 3) throw new Malformed(`unsupported GGUF version ${version}`)
    const tensorCount = await c.count('tensor count', 1 << 20)
    const kvCount = await c.count('metadata count', 1 << 20)
    const metadata = new Map<string, GgufValue>()
    for (let i = 0; i < kvCount; i++) {
      const key = await c.str(`metadata key #${i}`)
      if (metadata.has(key)) throw new Malformed(`duplicate metadata key ${key}`)
      metadata.set(key, await readValue(c, key))
    }
    const alignValue = metadata.get('general.alignment')
    const alignment = alignValue?.type === 'uint32' ? alignValue.value : GGUF_DEFAULT_ALIGNMENT
    if (alignment <= 0 || alignment % 8 !== 0) throw new Malformed(`bad general.alignment ${alignment}`)
    const tensors: GgufTensorInfo[] = []
    const names = new Set<string>()
    for (let i = 0; i < tensorCount; i++) {
      const name = await c.str(`tensor name #${i}`)
      if (names.has(name)) throw new Malformed(`duplicate tensor ${name}`)
      names.add(name)
      const nDims = await c.u32(`dims of ${name}`)
      if (nDims < 1 || nDims > 4) throw new Malformed(`tensor ${name} has ${nDims} dimensions`)
      const dims: number[] = []
      for (let d = 0; d < nDims; d++) {
        const n = await c.count(`dim ${d} of ${name}`, 2 ** 40)
        if (n === 0) throw new Malformed(`tensor ${name} has a zero dimension`)
        dims.push(n)
      }
      const typeId = await c.u32(`type of ${name}`)
      const type = ggmlTypeName(typeId)
      if (type === undefined) throw new Malformed(`tensor ${name} has unsupported type ${typeId}`)
      const offset = await c.count(`offset of ${name}`, 2 ** 48)
      if (offset % alignment !== 0) throw new Malformed(`tensor ${name} offset ${offset} is not aligned to ${alignment}`)
      const elements = dims.reduce((a, d) => a * d, 1)
      if (type === 'Q8_0' && (dims[0] ?? 0) % 32 !== 0) throw new Malformed(`tensor ${name}: Q8_0 row length ${dims[0]} is not a multiple of 32`)
      tensors.push({ name, dims, type, offset, byteSize: tensorBytes(type, elements) })
    }
    const dataOffset = alignUp(c.pos, alignment)
    for (const t of tensors) {
      const end = dataOffset + t.offset + t.byteSize
      if (end > fileBytes) throw new Malformed(`truncated: tensor ${t.name} ends at byte ${end} but the file has ${fileBytes}`)
    }
    return { path, version, alignment, metadata, tensors, dataOffset, fileBytes }
  } catch (e) {
    if (e instanceof Malformed) throw invalid(path, e.message, e)
    throw e
  } finally {
    await fh.close()
  }
}

/** Reads one tensor's values back as float32 (dequantising F16 and Q8_0). */
export async function readTensor(file: GgufFile, name: string): Promise<Float32Array> {
  const t = file.tensors.find((x) => x.name === name)
  if (t === undefined) throw invalid(file.path, `no tensor named ${name}`)
  const fh = await open(file.path, 'r')
  try {
    const bytes = new Uint8Array(t.byteSize)
    let got = 0
    while (got < t.byteSize) {
      const { bytesRead } = await fh.read(bytes, got, t.byteSize - got, file.dataOffset + t.offset + got)
      if (bytesRead === 0) throw invalid(file.path, `truncated inside tensor ${name}`)
      got += bytesRead
    }
    return decodeTensor(t.type, bytes, t.dims.reduce((a, d) => a * d, 1))
  } finally {
    await fh.close()
  }
}

/** A metadata value as a plain JS value (for display and checks), or undefined. */
export function metadataValue(file: GgufFile, key: string): GgufValue['value'] | undefined {
  return file.metadata.get(key)?.value
}
