import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'
import { EngineError } from '../../core/errors.js'
import { exited, killOnExit } from '../../engines/local/child-process.js'

export interface ServerRestartOptions {
  /** The command line, `{NAME}`s already filled. Run by /bin/sh. */
  readonly command: string
  /** Answers 200 once the server is ready. */
  readonly healthUrl: string
  readonly startTimeoutS: number
  readonly stopTimeoutS: number
  /** The server's stdout and stderr are appended here (kept with the sweep). */
  readonly logPath: string
  readonly signal?: AbortSignal
  readonly onLog?: (line: string) => void
}

/**
 * The server a sweep restarts per point (the restart knob): started through the shell in its own
 * process group, so stopping it stops whatever it spawned; ready when the health URL answers 200.
 */
export class RestartedServer {
  private child: ChildProcess | null = null
  private log: WriteStream | null = null
  private commandLine: string | null = null

  get running(): string | null {
    return this.child ? this.commandLine : null
  }

  /** Starts `options.command` unless it is already what runs; returns the seconds the start took (0 when kept). */
  async ensure(options: ServerRestartOptions): Promise<number> {
    if (this.child && this.commandLine === options.command) return 0
    await this.stop(options.stopTimeoutS)
    const started = performance.now()
    this.log = createWriteStream(options.logPath, { flags: 'a' })
    this.log.write(`\n# ${new Date().toISOString()} tokenwatt sweep: ${options.command}\n`)
    const child = spawn('/bin/sh', ['-c', options.command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    killOnExit(child)
    // the shell's children too, if this process exits first
    const onExit = (): void => killGroup(child, 'SIGKILL')
    process.once('exit', onExit)
    child.once('exit', () => process.off('exit', onExit))
    this.child = child
    this.commandLine = options.command
    child.stdout?.pipe(this.log, { end: false })
    child.stderr?.pipe(this.log, { end: false })
    const why = await waitHealthy(options.healthUrl, child, options.startTimeoutS * 1000, options.signal)
    if (why !== null) {
      await this.stop(options.stopTimeoutS)
      throw new EngineError(`server restart: \`${options.command}\` ${why}`, { hint: `its output is in ${options.logPath}; check sweep.server.command and healthUrl (${options.healthUrl})` })
    }
    return (performance.now() - started) / 1000
  }

  async stop(graceS = 30): Promise<void> {
    const child = this.child
    this.child = null
    this.commandLine = null
    if (child && child.exitCode === null && child.signalCode === null) {
      const done = exited(child)
      killGroup(child, 'SIGTERM')
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceS * 1000)
      await done
      clearTimeout(timer)
    }
    const log = this.log
    this.log = null
    if (log) await new Promise<void>((r) => log.end(r))
  }
}

function killGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, sig)
  } catch {
    child.kill(sig)
  }
}

async function waitHealthy(url: string, child: ChildProcess, timeoutMs: number, signal?: AbortSignal): Promise<string | null> {
  const deadline = Date.now() + timeoutMs
  let gone: string | null = null
  void exited(child).then((code) => (gone = `exited with ${code} before it was ready`))
  while (Date.now() < deadline) {
    if (gone !== null) return gone
    if (signal?.aborted) return 'was interrupted while starting'
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
      await res.body?.cancel()
      if (res.status === 200) return null
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  return gone ?? `did not answer ${url} within ${Math.round(timeoutMs / 1000)} s`
}
