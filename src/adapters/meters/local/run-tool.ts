import { type ChildProcess, execFile, spawn } from 'node:child_process'
import type { MeterEnv } from '../meter-context.js'

/**
 * Child processes for the meters that read a vendor CLI (nvidia-smi, amd-smi, ipmitool, ipmi-dcmi).
 * The load client never waits on them: one-shot reads are asynchronous with a timeout, and loop
 * modes run as one long-lived child whose lines arrive as events. Arguments are passed as an array
 * (no shell), so nothing in a config value is interpreted, and secrets are passed only through the
 * child's environment or files, never its argv (visible to every user in `ps`).
 */

export interface ToolResult {
  /** Exit code; null when it was killed or could not start. */
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  /** `ENOENT` when the executable is missing, `EACCES` when it is not executable, `TIMEOUT` when killed for time. */
  readonly errorCode: string | null
}

/** Runs a tool once and collects its output; never rejects. */
export function runTool(file: string, args: readonly string[], opts: { env: MeterEnv; timeoutMs: number; extraEnv?: Readonly<Record<string, string>> }): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      [...args],
      { env: childEnv(opts.env, opts.extraEnv), timeout: opts.timeoutMs, maxBuffer: 4 * 1024 * 1024, windowsHide: true, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        if (!error) return resolve({ code: 0, stdout, stderr, errorCode: null })
        const e = error as NodeJS.ErrnoException & { killed?: boolean; code?: string | number | null }
        const errorCode = typeof e.code === 'string' ? e.code : e.killed === true ? 'TIMEOUT' : null
        resolve({ code: typeof e.code === 'number' ? e.code : null, stdout, stderr, errorCode })
      },
    )
  })
}

/** The child's environment: the run's env (as the CLI passed it in) plus the extras. */
export function childEnv(env: MeterEnv, extra?: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v
  // Vendor tools print numbers with the C locale's decimal point only when told.
  out.LC_ALL = 'C'
  return { ...out, ...extra }
}

/** A one-line reason for a tool failure, for a preflight message. */
export function describeToolFailure(tool: string, r: ToolResult): string {
  if (r.errorCode === 'ENOENT') return `${tool} was not found on PATH`
  if (r.errorCode === 'EACCES') return `${tool} is not executable`
  if (r.errorCode === 'TIMEOUT') return `${tool} did not answer in time`
  const text = firstLine(r.stderr) || firstLine(r.stdout)
  return `${tool} exited with code ${r.code ?? '?'}${text ? `: ${text}` : ''}`
}

export function firstLine(s: string): string {
  return (
    s
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? ''
  )
}

/**
 * A long-lived child whose stdout is handed over line by line (`-lms` / `-w` loop modes). `stop()`
 * sends SIGTERM, then SIGKILL after `graceMs`, and resolves when the child has exited.
 */
export class LineChild {
  private child: ChildProcess | null = null
  private exited: Promise<void> = Promise.resolve()
  private buffer = ''
  private stderrTail = ''
  /** Set when the child ended on its own (crash, missing binary); the reason, for diagnostics. */
  endedEarly: string | null = null

  constructor(
    private readonly file: string,
    private readonly args: readonly string[],
    private readonly env: MeterEnv,
    private readonly onLine: (line: string) => void,
    private readonly extraEnv: Readonly<Record<string, string>> = {},
  ) {}

  start(): void {
    const child = spawn(this.file, [...this.args], { env: childEnv(this.env, this.extraEnv), stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true })
    this.child = child
    let stopping = false
    this.exited = new Promise<void>((resolve) => {
      child.once('error', (e: NodeJS.ErrnoException) => {
        this.endedEarly = `${this.file}: ${e.code ?? e.message}`
        resolve()
      })
      child.once('close', (code, signal) => {
        this.flush(true)
        if (!stopping && this.child === child) this.endedEarly = `${this.file} exited (${signal ?? `code ${code ?? '?'}`})${this.stderrTail ? `: ${firstLine(this.stderrTail)}` : ''}`
        resolve()
      })
    })
    child.stdout?.setEncoding('utf8')
    child.stdout?.on('data', (chunk: string) => {
      this.buffer += chunk
      this.flush(false)
    })
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-2000)
    })
    this.markStopping = () => {
      stopping = true
    }
  }

  private markStopping: () => void = () => undefined

  private flush(all: boolean): void {
    let nl: number
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '')
      this.buffer = this.buffer.slice(nl + 1)
      this.onLine(line)
    }
    if (all && this.buffer.length > 0) {
      const rest = this.buffer
      this.buffer = ''
      this.onLine(rest)
    }
  }

  async stop(graceMs = 2000): Promise<void> {
    const child = this.child
    if (!child) return
    this.markStopping()
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      timer.unref()
      await this.exited
      clearTimeout(timer)
    } else await this.exited
    this.child = null
  }
}
