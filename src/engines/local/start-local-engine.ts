/**
 * Starts an embedded inference engine on a generated model: the zero-setup target of
 * `tokenwatt bench` (no --endpoint) and `tokenwatt demo`. Two engines speak the same API:
 * `node` (prebuilt llama.cpp through node-llama-cpp, ready in about a second, nothing to build)
 * and `llama-server` (upstream llama.cpp's own server, built once by `tokenwatt engine build`).
 * Both run as child processes, so the engine's CPU, memory and power are not the client's.
 */
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EngineError } from '../../core/errors.js'
import { LogTail, killOnExit, stopChild } from './child-process.js'
import { buildLlamaServer, findLlamaServer } from './llama-server-build.js'
import { startLlamaServerProcess } from './llama-server-process.js'
import { defaultCacheDir, ensureModelFile, type ModelFile } from './model-cache.js'
import type { ModelQuant, ModelSize } from './model-spec.js'
import type { ChildMessage } from './node-engine-child.js'
import type { NodeEngineOptions } from './node-engine.js'

export type EngineKind = 'node' | 'llama-server'

export const LOCAL_ENGINE_DEFAULTS = {
  engine: 'node',
  size: 'small',
  quant: 'f16',
  host: '127.0.0.1',
  port: 0,
  parallel: 8,
  ctx: 2048,
  threads: 1,
} as const satisfies Record<string, string | number>

export interface LocalEngineOptions {
  /** Default `node`. */
  readonly engine?: EngineKind
  /** Default `small` (~57M params, ~4–5 ms/token on one core). */
  readonly size?: ModelSize
  readonly quant?: ModelQuant
  /** Model seed (default 1): same seed, same file, same weights. */
  readonly seed?: number
  /** Default 127.0.0.1. */
  readonly host?: string
  /** Default 0: a free port. */
  readonly port?: number
  /** Parallel sequences (slots); requests beyond wait in a FIFO queue. Default 8. */
  readonly parallel?: number
  /** Context length per sequence in tokens. Default 2048. */
  readonly ctx?: number
  /** CPU threads for decode and prefill. Default 1 (2 is pathological on 2-vCPU VMs). */
  readonly threads?: number
  /** Tokens per decode batch (llama-server -b). Default: the engine's. */
  readonly batchSize?: number
  /** Where models and built engines are cached. Default `$XDG_CACHE_HOME/tokenwatt` or `~/.cache/tokenwatt`. */
  readonly cacheDir?: string
  /** llama-server only: build it (≈ 6 min on 2 cores) when it is not in the cache. Default false. */
  readonly buildIfMissing?: boolean
  /** Human-readable progress and engine log lines. */
  readonly onLog?: (line: string) => void
  readonly signal?: AbortSignal
  /** Time allowed from spawn to a healthy server. Default 120 s. */
  readonly startTimeoutMs?: number
}

export interface LocalEngine {
  /** OpenAI API base, e.g. `http://127.0.0.1:41234/v1`. */
  readonly baseUrl: string
  /** Server root (where /health, /metrics and /tokenize live), e.g. `http://127.0.0.1:41234`. */
  readonly rootUrl: string
  /** Model name served, e.g. `tokenwatt-small-f16`. */
  readonly model: string
  readonly engine: EngineKind
  /** The engine's process id (a child of this process). */
  readonly pid: number | null
  readonly modelFile: ModelFile
  readonly settings: { readonly parallel: number; readonly ctx: number; readonly threads: number; readonly size: ModelSize; readonly quant: ModelQuant }
  /** Wall time from the call to a healthy server, including model generation on a cache miss. */
  readonly startMs: number
  /** Stops the engine (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. */
  stop(): Promise<void>
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new EngineError(`${name} must be a positive integer, got ${v}`)
  return v
}

/**
 * Starts the engine and resolves once it answers `/health`.
 *
 * @example
 * const engine = await startLocalEngine({ size: 'tiny' })
 * // POST `${engine.baseUrl}/chat/completions` with model engine.model …
 * await engine.stop()
 */
export async function startLocalEngine(options: LocalEngineOptions = {}): Promise<LocalEngine> {
  const started = performance.now()
  const engine = options.engine ?? LOCAL_ENGINE_DEFAULTS.engine
  const settings = {
    size: options.size ?? LOCAL_ENGINE_DEFAULTS.size,
    quant: options.quant ?? LOCAL_ENGINE_DEFAULTS.quant,
    parallel: positiveInt('parallel', options.parallel ?? LOCAL_ENGINE_DEFAULTS.parallel),
    ctx: positiveInt('ctx', options.ctx ?? LOCAL_ENGINE_DEFAULTS.ctx),
    threads: positiveInt('threads', options.threads ?? LOCAL_ENGINE_DEFAULTS.threads),
  }
  const host = options.host ?? LOCAL_ENGINE_DEFAULTS.host
  const port = options.port ?? LOCAL_ENGINE_DEFAULTS.port
  const cacheDir = options.cacheDir ?? defaultCacheDir()
  const onLog = options.onLog ?? (() => undefined)

  let binaryPath: string | null = null
  if (engine === 'llama-server') {
    const found = await findLlamaServer(cacheDir)
    if (found) binaryPath = found.binaryPath
    else if (options.buildIfMissing) binaryPath = (await buildLlamaServer({ cacheDir, onProgress: onLog, ...(options.signal ? { signal: options.signal } : {}) })).binaryPath
    else throw new EngineError(`llama-server has not been built in ${cacheDir}`, { hint: 'run `tokenwatt engine build` once (about 6 minutes on 2 cores), or use --engine node' })
  }

  const modelFile = await ensureModelFile({ size: settings.size, quant: settings.quant, cacheDir, onProgress: onLog, ...(options.seed !== undefined ? { seed: options.seed } : {}) })
  options.signal?.throwIfAborted()
  const common = { modelPath: modelFile.path, modelName: modelFile.name, host, port, parallel: settings.parallel, ctx: settings.ctx, threads: settings.threads, ...(options.batchSize !== undefined ? { batchSize: positiveInt('batchSize', options.batchSize) } : {}) }

  if (binaryPath !== null) {
    const server = await startLlamaServerProcess({
      ...common,
      binaryPath,
      onLog: (line) => onLog(`llama-server: ${line}`),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.startTimeoutMs !== undefined ? { startTimeoutMs: options.startTimeoutMs } : {}),
    })
    return { baseUrl: `${server.url}/v1`, rootUrl: server.url, model: modelFile.name, engine, pid: server.pid, modelFile, settings, startMs: performance.now() - started, stop: () => server.stop() }
  }

  const child = await spawnNodeEngine(common, onLog, options.startTimeoutMs ?? 120_000, options.signal)
  return { ...child, baseUrl: `${child.rootUrl}/v1`, model: modelFile.name, engine, modelFile, settings, startMs: performance.now() - started }
}

/** The child entry, as .ts under tsx (tests, dev) or .js from dist/. */
function childEntry(): { file: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url)
  if (here.endsWith('.ts')) return { file: join(dirname(here), 'node-engine-child.ts'), execArgv: ['--import', import.meta.resolve('tsx')] }
  return { file: join(dirname(here), 'node-engine-child.js'), execArgv: [] }
}

async function spawnNodeEngine(
  o: Omit<NodeEngineOptions, 'onLog'>,
  onLog: (line: string) => void,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ rootUrl: string; pid: number | null; stop(): Promise<void> }> {
  const { file, execArgv } = childEntry()
  const child = spawn(process.execPath, [...execArgv, file, JSON.stringify(o)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: process.env })
  killOnExit(child)
  const log = new LogTail(40, onLog)
  child.stdout?.on('data', (b: Buffer) => log.push(b))
  child.stderr?.on('data', (b: Buffer) => log.push(b))
  const ready = await new Promise<Extract<ChildMessage, { type: 'ready' }>>((resolve, reject) => {
    const fail = (message: string, hint: string | null): void => {
      cleanup()
      reject(new EngineError(message, { hint: hint ?? 'rerun with --verbose to see the engine log' }))
    }
    const onMessage = (m: ChildMessage): void => {
      if (m.type === 'log') onLog(m.line)
      else if (m.type === 'ready') {
        cleanup()
        resolve(m)
      } else fail(m.message, m.hint)
    }
    const onExit = (code: number | null, sig: string | null): void => fail(`the node engine exited (${code ?? sig}) before it was ready${log.text() ? `:\n${log.text()}` : ''}`, null)
    const onAbort = (): void => fail('interrupted while starting the engine', null)
    const timer = setTimeout(() => fail(`the node engine was not ready within ${Math.round(timeoutMs / 1000)} s`, null), timeoutMs)
    const cleanup = (): void => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
      signal?.removeEventListener('abort', onAbort)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
    signal?.addEventListener('abort', onAbort, { once: true })
  }).catch(async (e: unknown) => {
    await stopChild(child, 2000)
    throw e
  })
  child.on('message', (m: ChildMessage) => {
    if (m.type === 'log') onLog(m.line)
  })
  return { rootUrl: ready.url, pid: child.pid ?? null, stop: () => stopChild(child) }
}
