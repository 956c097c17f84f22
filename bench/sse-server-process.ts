/**
 * Builds and runs bench/sse-server.c, the ground-truth SSE server of `npm run bench:client`, and reads
 * the log it writes at exit. Times in the log are CLOCK_MONOTONIC nanoseconds as bigint, the same clock
 * as `process.hrtime.bigint()`; callers subtract their own epoch with bigint arithmetic before turning
 * them into numbers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

export interface ServerOptions {
  /** Delay from receiving a request to its first token chunk. */
  readonly ttftUs: number
  /** Gap between token chunks; 0 = write as fast as the client reads. */
  readonly itlUs: number
  /** Events per send() when tokens are due at once (itlUs 0). */
  readonly batch: number
  readonly logPath: string
}

/** What the server says about itself at exit. */
export interface ServerStats {
  readonly cpuUserS: number
  readonly cpuSysS: number
  readonly conns: number
  readonly requests: number
  readonly tokens: number
  readonly sends: number
  readonly eagain: number
  readonly timerArms: number
  readonly lagMaxUs: number
  readonly lateOver1ms: number
}

/** One request as the server saw it. */
export interface ServerRequest {
  /** The `tw-seq:N` marker of the prompt, or -1. */
  readonly seq: number
  readonly connId: number
  /** When the request's bytes arrived (kernel receive timestamp); the server's TTFT starts here. */
  readonly recvNs: bigint
  /** When the server's loop read them; `readNs − recvNs` is time queued inside the server. */
  readonly readNs: bigint
  /** Write time (just before the send() that carried it) of each token chunk. */
  readonly chunkNs: BigInt64Array
}

export interface GroundTruth {
  readonly monoAnchorNs: bigint
  readonly wallAnchorNs: bigint
  /** Accept time of each connection, by connection id. */
  readonly acceptNs: ReadonlyMap<number, bigint>
  readonly requests: readonly ServerRequest[]
}

export interface RunningServer {
  readonly port: number
  readonly pid: number
  /** Sends SIGTERM, waits for the log and the stats line. */
  stop(): Promise<ServerStats>
}

/** Compiles the server with `cc -O2` into `dir` (once per source change) and returns the binary. */
export function buildServer(sourcePath: string, dir: string): string {
  mkdirSync(dir, { recursive: true })
  const bin = join(dir, 'sse-server')
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(sourcePath).mtimeMs) return bin
  const res = spawnSync('cc', ['-O2', '-Wall', '-o', bin, sourcePath], { encoding: 'utf8' })
  if (res.status !== 0) {
    throw new Error(`cc failed to build ${sourcePath}: ${res.error?.message ?? res.stderr}`)
  }
  return bin
}

/**
 * Starts the server on an ephemeral loopback port and resolves once it listens. `launcher` prefixes
 * the command (e.g. `taskset -c 1`, `nice -n -20`); the pid returned is the server's own, since both
 * of those exec the command in place.
 */
export async function startServer(bin: string, opts: ServerOptions, launcher: readonly string[]): Promise<RunningServer> {
  const args = ['--port', '0', '--ttft-us', String(opts.ttftUs), '--itl-us', String(opts.itlUs), '--batch', String(opts.batch), '--log', opts.logPath]
  const [cmd, ...rest] = [...launcher, bin, ...args]
  const child: ChildProcess = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })
  let statsLine: string | null = null
  const closed = new Promise<void>((resolve) => lines.once('close', () => resolve()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const port = await new Promise<number>((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`sse-server exited (${code}) before listening`))
    child.once('exit', onExit)
    lines.on('line', (line) => {
      if (line.startsWith('listening ')) {
        child.off('exit', onExit)
        resolve(Number(line.slice('listening '.length)))
      } else if (line.startsWith('stats ')) statsLine = line.slice('stats '.length)
    })
  })
  return {
    port,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM')
      const code = await exited
      await closed
      if (code !== 0 || statsLine === null) throw new Error(`sse-server ended with ${code} and no stats`)
      return JSON.parse(statsLine) as ServerStats
    },
  }
}

/** Reads the binary ground-truth log (layout in the header comment of sse-server.c). */
export function readGroundTruth(path: string): GroundTruth {
  const file = readFileSync(path)
  // copy into an 8-byte aligned buffer so one BigInt64Array views it all
  const words = new BigInt64Array(file.byteLength / 8)
  new Uint8Array(words.buffer).set(file)
  if (file.toString('latin1', 0, 8) !== 'TWGT0002') throw new Error(`${path} is not a ground-truth log (TWGT0002)`)
  let i = 1
  const next = (): bigint => {
    const v = words[i++]
    if (v === undefined) throw new Error(`${path} ends early`)
    return v
  }
  const monoAnchorNs = next()
  const wallAnchorNs = next()
  const acceptNs = new Map<number, bigint>()
  const nConns = Number(next())
  for (let k = 0; k < nConns; k++) {
    const id = Number(next())
    acceptNs.set(id, next())
  }
  const nRequests = Number(next())
  const requests: ServerRequest[] = []
  for (let k = 0; k < nRequests; k++) {
    const seq = Number(next())
    const connId = Number(next())
    const recvNs = next()
    const readNs = next()
    const written = Number(next())
    requests.push({ seq, connId, recvNs, readNs, chunkNs: words.subarray(i, i + written) })
    i += written
  }
  return { monoAnchorNs, wallAnchorNs, acceptNs, requests }
}
