import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, open, readFile, rm, truncate, writeFile, copyFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { EngineError } from '../../src/core/errors.js'
import { gguf, type GgufValue } from '../../src/engines/local/gguf-format.js'
import { readGgufFile, readTensor } from '../../src/engines/local/gguf-reader.js'
import { writeGgufFile, type GgufFileSpec } from '../../src/engines/local/gguf-writer.js'
import { ensureModelFile, modelPath } from '../../src/engines/local/model-cache.js'
import { NodeLlamaBackend } from '../../src/engines/local/node-llama-backend.js'
import { fromHalfBits, toHalfBits } from '../../src/engines/local/tensor-encoding.js'

let dir = ''
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tw-gguf-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

const values = (n: number, f: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => f(i))

function spec(): GgufFileSpec {
  const metadata: Record<string, GgufValue> = {
    'general.architecture': gguf.str('llama'),
    'general.alignment': gguf.u32(64),
    'test.u8': gguf.u8(255),
    'test.i8': gguf.i8(-128),
    'test.u16': gguf.u16(65535),
    'test.i16': gguf.i16(-32768),
    'test.u32': gguf.u32(4294967295),
    'test.i32': gguf.i32(-2147483648),
    'test.f32': gguf.f32(0.5),
    'test.f64': gguf.f64(Math.PI),
    'test.u64': gguf.u64(18446744073709551615n),
    'test.i64': gguf.i64(-9223372036854775808n),
    'test.bool': gguf.bool(true),
    'test.str': gguf.str('héllo ▁ wörld'),
    'test.strings': gguf.strings(['a', '', '<0x0A>']),
    'test.i32s': gguf.i32s([1, -2, 3]),
    'test.f32s': gguf.f32s([0.25, -1.5]),
  }
  const f32 = values(3 * 5, (i) => i * 0.1 - 0.7)
  const f16 = values(2 * 7, (i) => Math.sin(i) * 100)
  const q8 = values(64 * 3, (i) => Math.cos(i / 3) * (i % 7))
  return {
    metadata,
    tensors: [
      { name: 'a.f32', dims: [5, 3], type: 'F32', fillRow: (r, row) => row.set(f32.subarray(r * 5, r * 5 + 5)) },
      { name: 'b.f16', dims: [7, 2], type: 'F16', fillRow: (r, row) => row.set(f16.subarray(r * 7, r * 7 + 7)) },
      { name: 'c.q8', dims: [64, 3], type: 'Q8_0', fillRow: (r, row) => row.set(q8.subarray(r * 64, r * 64 + 64)) },
      { name: 'd.vec', dims: [3], type: 'F32', fillRow: (_r, row) => row.set([1, 2, 3]) },
    ],
  }
}

test('GGUF writer round-trips metadata of every type and F32/F16/Q8_0 tensors through the parser', async () => {
  const path = join(dir, 'rt.gguf')
  const written = await writeGgufFile(path, spec())
  const file = await readGgufFile(path)
  assert.equal(file.version, 3)
  assert.equal(file.alignment, 64)
  assert.equal(file.fileBytes, written.bytes)
  assert.equal(file.dataOffset % 64, 0)
  const expected = spec().metadata
  assert.deepEqual([...file.metadata.keys()], Object.keys(expected))
  for (const [key, value] of Object.entries(expected)) {
    const got = file.metadata.get(key)
    if (value.type === 'float32') assert.equal(got?.value, Math.fround(value.value))
    else if (value.type === 'array' && value.itemType === 'float32') assert.deepEqual(got?.value, value.value.map((v) => Math.fround(v)))
    else assert.deepEqual(got, value, key)
  }
  assert.deepEqual(
    file.tensors.map((t) => [t.name, t.dims, t.type, t.offset % 64]),
    [
      ['a.f32', [5, 3], 'F32', 0],
      ['b.f16', [7, 2], 'F16', 0],
      ['c.q8', [64, 3], 'Q8_0', 0],
      ['d.vec', [3], 'F32', 0],
    ],
  )
  const f32 = await readTensor(file, 'a.f32')
  assert.deepEqual([...f32], [...values(15, (i) => Math.fround(i * 0.1 - 0.7))])
  const f16 = await readTensor(file, 'b.f16')
  const f16Src = values(14, (i) => Math.sin(i) * 100)
  for (let i = 0; i < 14; i++) assert.ok(Math.abs((f16[i] ?? 0) - (f16Src[i] ?? 0)) <= Math.abs(f16Src[i] ?? 0) * 2 ** -11 + 1e-7, `f16[${i}]`)
  const q8 = await readTensor(file, 'c.q8')
  const q8Src = values(192, (i) => Math.cos(i / 3) * (i % 7))
  for (let b = 0; b < 6; b++) {
    const block = q8Src.subarray(b * 32, b * 32 + 32)
    const amax = Math.max(...[...block].map(Math.abs))
    // half a quantisation step, plus the f16 rounding of the block scale (relative 2^-11, times up to 127 steps)
    for (let j = 0; j < 32; j++) assert.ok(Math.abs((q8[b * 32 + j] ?? 0) - (block[j] ?? 0)) <= amax / 254 + amax * 2 ** -11 + 1e-6, `q8[${b * 32 + j}]`)
  }
  assert.deepEqual([...(await readTensor(file, 'd.vec'))], [1, 2, 3])
})

test('GGUF writer output is deterministic and its reported hash matches the bytes', async () => {
  const a = await writeGgufFile(join(dir, 'a.gguf'), spec())
  const b = await writeGgufFile(join(dir, 'b.gguf'), spec())
  assert.equal(a.sha256, b.sha256)
  const bytes = await readFile(join(dir, 'a.gguf'))
  assert.equal(createHash('sha256').update(bytes).digest('hex'), a.sha256)
  assert.equal(bytes.subarray(0, 4).toString('latin1'), 'GGUF')
  assert.equal(bytes.readUInt32LE(4), 3)
})

test('half-float conversion rounds to nearest even and handles the edges', () => {
  assert.equal(toHalfBits(1), 0x3c00)
  assert.equal(toHalfBits(-2), 0xc000)
  assert.equal(toHalfBits(65504), 0x7bff)
  assert.equal(toHalfBits(1e6), 0x7c00)
  assert.equal(toHalfBits(2 ** -24), 0x0001)
  assert.equal(toHalfBits(2 ** -26), 0)
  assert.equal(toHalfBits(1 + 2 ** -11), 0x3c00) // tie → even
  assert.equal(toHalfBits(1 + 3 * 2 ** -11), 0x3c02) // tie → even (up)
  assert.ok(Number.isNaN(fromHalfBits(toHalfBits(NaN))))
  for (const v of [0.1, -3.14159, 1234.5, 6e-5]) assert.ok(Math.abs(fromHalfBits(toHalfBits(v)) - v) <= Math.abs(v) * 2 ** -11)
})

test('the parser rejects truncated and corrupt files with an EngineError and a hint', async () => {
  const path = join(dir, 'bad.gguf')
  await writeGgufFile(path, spec())
  const full = (await readFile(path)).length
  for (const cut of [2, 10, 40, 300, full - 60]) {
    await copyFile(path, join(dir, 'cut.gguf'))
    await truncate(join(dir, 'cut.gguf'), cut)
    await assert.rejects(readGgufFile(join(dir, 'cut.gguf')), (e: unknown) => {
      assert.ok(e instanceof EngineError, String(e))
      assert.match(e.message, /not a valid GGUF file: truncated/)
      assert.match(e.hint ?? '', /delete it/)
      return true
    }, `cut at ${cut}`)
  }
  await writeFile(join(dir, 'magic.gguf'), Buffer.from('GGML\x03\x00\x00\x00'.padEnd(64, '\0'), 'latin1'))
  await assert.rejects(readGgufFile(join(dir, 'magic.gguf')), /bad magic/)
  // An absurd array length must not allocate or hang.
  const corrupt = join(dir, 'len.gguf')
  await copyFile(path, corrupt)
  const fh = await open(corrupt, 'r+')
  const huge = Buffer.alloc(8)
  huge.writeBigUInt64LE(2n ** 62n)
  await fh.write(huge, 0, 8, 16 + 8) // length of the first key string
  await fh.close()
  await assert.rejects(readGgufFile(corrupt), /implausible/)
  await assert.rejects(readGgufFile(join(dir, 'missing.gguf')), (e: unknown) => e instanceof EngineError && /cannot open model file/.test(e.message))
})

test('model files are deterministic per seed and keyed by content in the cache', async () => {
  const cacheA = join(dir, 'cache-a')
  const cacheB = join(dir, 'cache-b')
  const a = await ensureModelFile({ size: 'tiny', quant: 'q8_0', seed: 7, cacheDir: cacheA })
  const b = await ensureModelFile({ size: 'tiny', quant: 'q8_0', seed: 7, cacheDir: cacheB })
  assert.equal(a.generated, true)
  const hash = async (p: string): Promise<string> => createHash('sha256').update(await readFile(p)).digest('hex')
  assert.equal(await hash(a.path), await hash(b.path))
  assert.equal(a.path, modelPath(cacheA, 'tiny', 'q8_0', 7))
  const again = await ensureModelFile({ size: 'tiny', quant: 'q8_0', seed: 7, cacheDir: cacheA })
  assert.equal(again.generated, false)
  const other = await ensureModelFile({ size: 'tiny', quant: 'q8_0', seed: 8, cacheDir: cacheA })
  assert.notEqual(other.path, a.path)
  assert.notEqual(await hash(other.path), await hash(a.path))
  const file = await readGgufFile(a.path)
  assert.equal(file.metadata.get('general.architecture')?.value, 'llama')
  assert.equal(file.metadata.get('general.file_type')?.value, 7)
  assert.equal((file.metadata.get('tokenizer.ggml.tokens')?.value as string[]).length, 260)
  assert.equal(file.tensors.length, 3 + 4 * 9)
  // A damaged cache entry is detected and regenerated, never loaded.
  await truncate(a.path, 1000)
  const lines: string[] = []
  const healed = await ensureModelFile({ size: 'tiny', quant: 'q8_0', seed: 7, cacheDir: cacheA, onProgress: (l) => lines.push(l) })
  assert.equal(healed.generated, true)
  assert.equal(await hash(healed.path), await hash(b.path))
  assert.match(lines[0] ?? '', /is invalid .*regenerating/)
})

test('loading a truncated model gives a clear EngineError instead of crashing llama.cpp', async () => {
  const model = await ensureModelFile({ size: 'tiny', quant: 'f16', cacheDir: join(dir, 'cache-c') })
  const broken = join(dir, 'broken.gguf')
  await copyFile(model.path, broken)
  await truncate(broken, Math.floor(model.fileBytes / 2))
  await assert.rejects(NodeLlamaBackend.load({ modelPath: broken, parallel: 1, contextPerSequence: 256, threads: 1 }), (e: unknown) => {
    assert.ok(e instanceof EngineError)
    assert.equal(e.code, 'TW_ENGINE_FAILED')
    assert.match(e.message, /broken\.gguf is not a valid GGUF file: truncated: tensor .* ends at byte \d+ but the file has \d+/)
    return true
  })
})
