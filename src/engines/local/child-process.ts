/**
 * Helpers shared by the two child-process engines: a free loopback port, waiting for `/health`,
 * a bounded log tail for error messages, and stopping a child (SIGTERM, then SIGKILL) — also when
 * this process exits, so a crashed benchmark never leaves a server behind.
 */
import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'

/** Asks the OS for a free port on `host` (the engine binds it a moment later). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, host, () => {
      const addr = s.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      s.close(() => resolve(port))
    })
  })
}

/** Keeps the last `max` lines a child printed, to quote when it fails. */
export class LogTail {
  private readonly lines: string[] = []
  private partial = ''
  constructor(
    private readonly max = 40,
    private readonly onLine?: (line: string) => void,
  ) {}
  push(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString()
    const parts = text.split(/\r?\n/)
    this.partial = parts.pop() ?? ''
    for (const line of parts) {
      if (line.trim() === '') continue
      this.lines.push(line)
      if (this.lines.length > this.max) this.lines.shift()
      this.onLine?.(line)
    }
  }
  text(): string {
    return [...this.lines, this.partial].filter((l) => l !== '').join('\n')
  }
}

/** Resolves with the exit code (or signal name) once the child has exited. */
export function exited(child: ChildProcess): Promise<number | string | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? child.signalCode)
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)))
}

const liveChildren = new Set<ChildProcess>()
let exitHookInstalled = false

/** Kills `child` if this process exits first (normal exit, uncaught error, process.exit). */
export function killOnExit(child: ChildProcess): void {
  liveChildren.add(child)
  child.once('exit', () => liveChildren.delete(child))
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const c of liveChildren) c.kill('SIGKILL')
  })
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const done = exited(child)
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await done
  clearTimeout(timer)
}

/**
 * Polls `${rootUrl}/health` until it answers 200, the child exits, the signal aborts or the
 * timeout passes. Returns null on success, else why it did not come up.
 */
export async function waitForHealth(rootUrl: string, child: ChildProcess, timeoutMs: number, signal?: AbortSignal): Promise<string | null> {
  const deadline = Date.now() + timeoutMs
  let gone: string | null = null
  const exitWatch = exited(child).then((code) => {
    gone = `exited with ${code}`
  })
  void exitWatch
  while (Date.now() < deadline) {
    if (gone !== null) return gone
    if (signal?.aborted) return 'interrupted'
    try {
      const res = await fetch(`${rootUrl}/health`, { signal: AbortSignal.timeout(2000) })
      await res.body?.cancel()
      if (res.status === 200) return null
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return gone ?? `did not answer /health within ${Math.round(timeoutMs / 1000)} s`
}
