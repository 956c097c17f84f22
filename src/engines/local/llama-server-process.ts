/**
 * Runs upstream llama-server on a generated model as a child process bound to loopback, with the
 * same slot layout as the node engine (`-np N`, `-c ctx×N`, so each slot gets `ctx` tokens), one
 * thread for decode and batch (`-t 1 -tb 1`, see research/llm-feasibility.md), and `--metrics`.
 */
import { spawn } from 'node:child_process'
import { EngineError } from '../../core/errors.js'
import { LogTail, freePort, killOnExit, stopChild, waitForHealth } from './child-process.js'

export interface LlamaServerProcessOptions {
  readonly binaryPath: string
  readonly modelPath: string
  readonly modelName: string
  readonly host: string
  /** 0 picks a free port. */
  readonly port: number
  readonly parallel: number
  /** Context length per slot, in tokens. */
  readonly ctx: number
  readonly threads: number
  /** Logical batch size (`-b`); absent: llama-server's default. */
  readonly batchSize?: number
  readonly startTimeoutMs?: number
  /** Every line llama-server prints (it logs to stderr). */
  readonly onLog?: (line: string) => void
  readonly signal?: AbortSignal
}

export interface RunningLlamaServer {
  readonly url: string
  readonly port: number
  readonly pid: number
  stop(): Promise<void>
}

export function llamaServerArgs(o: LlamaServerProcessOptions, port: number): string[] {
  return [
    '-m', o.modelPath,
    '--host', o.host,
    '--port', String(port),
    '-a', o.modelName,
    '-t', String(o.threads),
    '-tb', String(o.threads),
    '-np', String(o.parallel),
    '-c', String(o.ctx * o.parallel),
    ...(o.batchSize !== undefined ? ['-b', String(o.batchSize)] : []),
    '--metrics',
    '--no-webui',
  ]
}

export async function startLlamaServerProcess(o: LlamaServerProcessOptions): Promise<RunningLlamaServer> {
  const port = o.port === 0 ? await freePort(o.host) : o.port
  const child = spawn(o.binaryPath, llamaServerArgs(o, port), { stdio: ['ignore', 'pipe', 'pipe'] })
  killOnExit(child)
  const log = new LogTail(60, o.onLog)
  child.stdout.on('data', (b: Buffer) => log.push(b))
  child.stderr.on('data', (b: Buffer) => log.push(b))
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve))
  const host = o.host.includes(':') ? `[${o.host}]` : o.host
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`
  const failure = await Promise.race([waitForHealth(url, child, o.startTimeoutMs ?? 120_000, o.signal), spawnError.then((e) => `could not be started: ${e.message}`)])
  if (failure !== null) {
    await stopChild(child, 2000)
    throw new EngineError(`llama-server ${failure}${log.text() ? `; its last output:\n${log.text()}` : ''}`, {
      hint: failure.includes('address') || /bind|in use/i.test(log.text()) ? 'pick another --port' : 'rebuild it with `tokenwatt engine build --force`, or use --engine node',
    })
  }
  const pid = child.pid ?? 0
  return { url, port, pid, stop: () => stopChild(child) }
}
