/**
 * Builds upstream llama.cpp's `llama-server` offline, once per machine, from the llama.cpp source
 * that node-llama-cpp ships as a git bundle (`llama/gitRelease.bundle`). Only the machine's git,
 * cmake and C++ compiler are used (no network: curl and OpenSSL are off). The binary lands in the
 * cache keyed by the source commit, so upgrading node-llama-cpp builds afresh and CI builds once per
 * cache. Its native continuous batching behaves like production servers, which the in-process engine
 * cannot show on 2 cores; and it proves tokenwatt against a server nobody on this project wrote.
 */
import { spawn, spawnSync } from 'node:child_process'
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile, chmod } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EngineError } from '../../core/errors.js'

/** cmake flags: static (the binary is moved out of the build tree), CPU only, tuned for this CPU. */
export const LLAMA_SERVER_CMAKE_FLAGS = [
  '-DCMAKE_BUILD_TYPE=Release',
  '-DLLAMA_CURL=OFF',
  '-DLLAMA_OPENSSL=OFF',
  '-DBUILD_SHARED_LIBS=OFF',
  '-DLLAMA_BUILD_TESTS=OFF',
  '-DGGML_NATIVE=ON',
] as const

const TOOLS_HINT = 'install the build tools (Debian/Ubuntu: apt-get install git cmake g++ ninja-build), or use --engine node'

export interface LlamaServerBinary {
  readonly binaryPath: string
  /** llama.cpp source commit it was built from. */
  readonly commit: string
  readonly dir: string
}

export interface LlamaServerBuildResult extends LlamaServerBinary {
  /** False when the cached binary was reused. */
  readonly built: boolean
  readonly buildS: number
}

export interface LlamaServerBuildOptions {
  readonly cacheDir: string
  /** Parallel compile jobs (default: all CPUs). */
  readonly jobs?: number
  /** Rebuild even when a binary exists. */
  readonly force?: boolean
  /** Keep the source and build trees (≈ 300 MB) for faster rebuilds. */
  readonly keepSources?: boolean
  readonly onProgress?: (line: string) => void
  readonly signal?: AbortSignal
}

/** The llama.cpp source bundle inside the installed node-llama-cpp package. */
export function llamaSourceBundle(): string {
  let entry: string
  try {
    entry = fileURLToPath(import.meta.resolve('node-llama-cpp'))
  } catch (e) {
    throw new EngineError('node-llama-cpp is not installed, so there is no llama.cpp source to build from', { hint: 'run `npm ci` in the tokenwatt checkout', cause: e })
  }
  return join(dirname(dirname(entry)), 'llama', 'gitRelease.bundle')
}

function run(cmd: string, args: readonly string[], cwd?: string): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() }
}

function hasTool(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0
}

/** The commit at the head of the bundled llama.cpp source (keys the cache). */
export function bundleCommit(bundle = llamaSourceBundle()): string {
  if (!hasTool('git')) throw new EngineError('git is needed to unpack the llama.cpp source bundle', { hint: TOOLS_HINT })
  const r = run('git', ['bundle', 'list-heads', bundle])
  const commit = /^([0-9a-f]{40}) HEAD$/m.exec(r.out)?.[1] ?? /^([0-9a-f]{40}) /m.exec(r.out)?.[1]
  if (!r.ok || commit === undefined) throw new EngineError(`cannot read the llama.cpp source bundle ${bundle}: ${r.out}`, { hint: 'reinstall node-llama-cpp with `npm ci`' })
  return commit
}

export function llamaServerDir(cacheDir: string, commit: string): string {
  return join(cacheDir, 'engines', `llama-server-${commit.slice(0, 12)}`)
}

/** The built binary for the bundled source, or null when it has not been built yet. */
export async function findLlamaServer(cacheDir: string): Promise<LlamaServerBinary | null> {
  const commit = bundleCommit()
  const dir = llamaServerDir(cacheDir, commit)
  const binaryPath = join(dir, 'bin', 'llama-server')
  const info = await readFile(join(dir, 'build.json'), 'utf8').catch(() => null)
  const exists = await stat(binaryPath).then((s) => s.isFile()).catch(() => false)
  if (info === null || !exists) return null
  return { binaryPath, commit, dir }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** A lock directory so two processes (two test files, CI steps) never build into the same tree. */
async function withLock<T>(lockDir: string, onProgress: (line: string) => void, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  let announced = false
  for (;;) {
    signal?.throwIfAborted()
    try {
      await mkdir(lockDir)
      await writeFile(join(lockDir, 'pid'), String(process.pid))
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      const pid = Number(await readFile(join(lockDir, 'pid'), 'utf8').catch(() => 'NaN'))
      const age = await stat(lockDir).then((s) => Date.now() - s.mtimeMs).catch(() => 0)
      if ((Number.isInteger(pid) && !pidAlive(pid)) || (!Number.isInteger(pid) && age > 30_000)) {
        await rm(lockDir, { recursive: true, force: true })
        continue
      }
      if (!announced) onProgress(`waiting for another llama-server build (pid ${Number.isInteger(pid) ? pid : '?'}) to finish…`)
      announced = true
      await new Promise((r) => setTimeout(r, 1000))
    }
  }
  try {
    return await fn()
  } finally {
    await rm(lockDir, { recursive: true, force: true })
  }
}

/** Runs a build step, forwarding progress and keeping the last lines of output for the error message. */
function step(cmd: string, args: readonly string[], label: string, onLine: (line: string) => void, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    const tail: string[] = []
    const onData = (buf: Buffer): void => {
      for (const line of buf.toString('utf8').split(/\r?\n/)) {
        if (line.trim() === '') continue
        tail.push(line)
        if (tail.length > 30) tail.shift()
        onLine(line)
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    const onAbort = (): void => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGTERM')
        } catch {
          // already gone
        }
      }
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    child.on('error', (e) => reject(new EngineError(`${label}: cannot run ${cmd}: ${e.message}`, { hint: TOOLS_HINT, cause: e })))
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort)
      if (signal?.aborted) return reject(new EngineError(`${label}: interrupted`))
      if (code === 0) return resolve()
      reject(new EngineError(`${label} failed (exit ${code}):\n${tail.join('\n')}`, { hint: TOOLS_HINT }))
    })
  })
}

/**
 * Returns the cached llama-server for the bundled llama.cpp source, building it first when absent
 * (about 6 minutes on 2 cores).
 *
 * @example
 * const { binaryPath } = await buildLlamaServer({ cacheDir: defaultCacheDir(), onProgress: console.log })
 */
export async function buildLlamaServer(options: LlamaServerBuildOptions): Promise<LlamaServerBuildResult> {
  const onProgress = options.onProgress ?? (() => undefined)
  if (!options.force) {
    const found = await findLlamaServer(options.cacheDir)
    if (found) return { ...found, built: false, buildS: 0 }
  }
  const missing = ['git', 'cmake'].filter((t) => !hasTool(t))
  const cxx = ['c++', 'g++', 'clang++'].find(hasTool)
  if (cxx === undefined) missing.push('a C++ compiler (g++ or clang++)')
  if (missing.length > 0) throw new EngineError(`building llama-server needs ${missing.join(', ')}`, { hint: TOOLS_HINT })
  const bundle = llamaSourceBundle()
  const commit = bundleCommit(bundle)
  const dir = llamaServerDir(options.cacheDir, commit)
  await mkdir(dirname(dir), { recursive: true })
  return withLock(`${dir}.lock`, onProgress, options.signal, async () => {
    if (!options.force) {
      const found = await findLlamaServer(options.cacheDir)
      if (found) return { ...found, built: false, buildS: 0 }
    }
    const startedMs = Date.now()
    const src = join(dir, 'src')
    const build = join(dir, 'build')
    await mkdir(dir, { recursive: true })
    const head = run('git', ['-C', src, 'rev-parse', 'HEAD'])
    if (!head.ok || head.out !== commit) {
      onProgress(`unpacking llama.cpp ${commit.slice(0, 12)} from ${bundle}`)
      await rm(src, { recursive: true, force: true })
      await step('git', ['-c', 'advice.detachedHead=false', 'clone', '--quiet', bundle, src], 'git clone of the llama.cpp bundle', () => undefined, options.signal)
    }
    const generator = hasTool('ninja') ? ['-G', 'Ninja'] : []
    onProgress(`configuring (cmake ${LLAMA_SERVER_CMAKE_FLAGS.join(' ')}${generator.length > 0 ? ' -G Ninja' : ''})`)
    await step('cmake', ['-S', src, '-B', build, ...generator, ...LLAMA_SERVER_CMAKE_FLAGS], 'cmake configure', () => undefined, options.signal)
    const jobs = options.jobs ?? availableParallelism()
    onProgress(`compiling llama-server with ${jobs} job(s); about 6 minutes on 2 cores`)
    let lastPct = -1
    await step('cmake', ['--build', build, '--target', 'llama-server', '-j', String(jobs)], 'llama-server build', (line) => {
      const ninja = /^\[(\d+)\/(\d+)\]/.exec(line)
      const make = /^\[\s*(\d+)%\]/.exec(line)
      const pct = ninja ? Math.floor((100 * Number(ninja[1])) / Number(ninja[2])) : make ? Number(make[1]) : null
      if (pct !== null && pct >= lastPct + 10) {
        lastPct = pct - (pct % 10)
        onProgress(`  ${String(pct).padStart(3)}%  ${Math.round((Date.now() - startedMs) / 1000)} s`)
      }
    }, options.signal)
    const built = join(build, 'bin', 'llama-server')
    const version = run(built, ['--version'])
    if (!version.ok) throw new EngineError(`the freshly built llama-server does not run: ${version.out}`, { hint: TOOLS_HINT })
    const binDir = join(dir, 'bin')
    await mkdir(binDir, { recursive: true })
    const binaryPath = join(binDir, 'llama-server')
    await copyFile(built, `${binaryPath}.tmp`)
    await chmod(`${binaryPath}.tmp`, 0o755)
    await rename(`${binaryPath}.tmp`, binaryPath)
    const buildS = (Date.now() - startedMs) / 1000
    await writeFile(join(dir, 'build.json'), `${JSON.stringify({ commit, cmakeFlags: LLAMA_SERVER_CMAKE_FLAGS, jobs, buildS, version: version.out.split('\n').slice(0, 2) }, null, 2)}\n`)
    if (!options.keepSources) {
      await rm(src, { recursive: true, force: true })
      await rm(build, { recursive: true, force: true })
    }
    onProgress(`built ${binaryPath} in ${buildS.toFixed(0)} s`)
    return { binaryPath, commit, dir, built: true, buildS }
  })
}
