/**
 * The on-disk cache of generated models and built engines. Models are keyed by a content hash of
 * everything that determines their bytes (size, type, seed, generator version), generated on first
 * use and written atomically (temp file + rename), so concurrent or interrupted runs never leave a
 * half-written model under the final name.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { EngineError } from '../../core/errors.js'
import { readGgufFile } from './gguf-reader.js'
import { writeGgufFile } from './gguf-writer.js'
import { buildModelSpec } from './model-gen.js'
import { GENERATOR_VERSION, MODEL_SIZES, modelName, parameterCount, type ModelQuant, type ModelSize } from './model-spec.js'

/** `$XDG_CACHE_HOME/tokenwatt`, else `~/.cache/tokenwatt`. */
export function defaultCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const xdg = env['XDG_CACHE_HOME']
  if (xdg !== undefined && xdg !== '') return join(xdg, 'tokenwatt')
  return join(env['HOME'] ?? homedir(), '.cache', 'tokenwatt')
}

export interface ModelFileRequest {
  readonly size: ModelSize
  readonly quant: ModelQuant
  /** Default 1. */
  readonly seed?: number
  /** Default: defaultCacheDir(). */
  readonly cacheDir?: string
  /** Progress lines for humans (e.g. "generating tokenwatt-small-f16 (57.0M params)…"). */
  readonly onProgress?: (line: string) => void
}

export interface ModelFile {
  readonly path: string
  /** The name servers report, e.g. `tokenwatt-small-f16`. */
  readonly name: string
  readonly size: ModelSize
  readonly quant: ModelQuant
  readonly seed: number
  readonly parameters: number
  readonly fileBytes: number
  /** True when this call generated the file; false on a cache hit. */
  readonly generated: boolean
  /** Generation time, 0 on a cache hit. */
  readonly generateMs: number
}

export const DEFAULT_MODEL_SEED = 1

/** The cache key: a content hash of everything that determines the file's bytes. */
export function modelCacheKey(size: ModelSize, quant: ModelQuant, seed: number): string {
  const input = JSON.stringify({ generator: GENERATOR_VERSION, shape: MODEL_SIZES[size], size, quant, seed })
  return createHash('sha256').update(input).digest('hex').slice(0, 16)
}

export function modelPath(cacheDir: string, size: ModelSize, quant: ModelQuant, seed: number): string {
  return join(cacheDir, 'models', `${modelName(size, quant)}-${modelCacheKey(size, quant, seed)}.gguf`)
}

/**
 * Returns the cached model file for (size, quant, seed), generating it first if it is missing or
 * fails validation.
 *
 * @example
 * const model = await ensureModelFile({ size: 'tiny', quant: 'f16' })
 * // model.path → ~/.cache/tokenwatt/models/tokenwatt-tiny-f16-<hash>.gguf
 */
export async function ensureModelFile(req: ModelFileRequest): Promise<ModelFile> {
  const seed = req.seed ?? DEFAULT_MODEL_SEED
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new EngineError(`model seed must be an integer in [0, 2^32), got ${seed}`)
  const cacheDir = req.cacheDir ?? defaultCacheDir()
  const path = modelPath(cacheDir, req.size, req.quant, seed)
  const name = modelName(req.size, req.quant)
  const parameters = parameterCount(MODEL_SIZES[req.size])
  const base = { path, name, size: req.size, quant: req.quant, seed, parameters }

  const existing = await stat(path).catch(() => undefined)
  if (existing !== undefined) {
    try {
      const file = await readGgufFile(path)
      return { ...base, fileBytes: file.fileBytes, generated: false, generateMs: 0 }
    } catch (e) {
      req.onProgress?.(`cached model ${path} is invalid (${(e as Error).message}); regenerating`)
    }
  }

  const dir = join(cacheDir, 'models')
  try {
    await mkdir(dir, { recursive: true })
  } catch (e) {
    throw new EngineError(`cannot create the model cache directory ${dir}: ${(e as Error).message}`, { hint: 'pass --cache-dir with a writable directory', cause: e })
  }
  req.onProgress?.(`generating ${name} (${(parameters / 1e6).toFixed(1)}M params, seed ${seed}) into ${dir}`)
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  const startedMs = performance.now()
  try {
    const { bytes } = await writeGgufFile(tmp, buildModelSpec({ size: req.size, quant: req.quant, seed }))
    await rename(tmp, path)
    return { ...base, fileBytes: bytes, generated: true, generateMs: performance.now() - startedMs }
  } catch (e) {
    await rm(tmp, { force: true })
    throw new EngineError(`cannot write model file ${path}: ${(e as Error).message}`, { hint: 'check free disk space, or pass --cache-dir', cause: e })
  }
}
