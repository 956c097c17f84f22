import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import type { MeterEnv } from '../meter-context.js'
import { childEnv, firstLine } from '../local/run-tool.js'

/** What one command in the shell gave: its stdout, or why there is none. */
export type ShellReply = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly why: string }

/** A session's stdout that never reaches its end marker is cut off here (a reading is ~600 bytes). */
const MAX_BUFFER_CHARS = 256 * 1024

/**
 * One long-lived `ipmitool … shell` per BMC, so a poll costs a line on a pipe instead of a process
 * (fork, exec, dynamic linking and, out of band, a fresh RMCP+ session handshake every time).
 *
 * The shell is ipmitool's readline loop (src/ipmishell.c): it reads a command per line, prints
 * `ipmitool> ` as its prompt, and, when stdin is not a terminal, may or may not echo the line or
 * print the prompt, depending on the readline build. The parser therefore depends on neither: each
 * command is followed by `echo tokenwatt-end-N` (ipmitool's own `echo` command, meant for scripts),
 * and the reply is everything before the line that `echo` prints (`tokenwatt-end-N ` after any
 * prompts). The echoed command line (`echo tokenwatt-end-N`) does not match, and a stale marker from
 * an earlier command cannot either, because N counts up. Readline flushes stdout before each prompt,
 * so the marker's line arrives without waiting for the pipe's buffer to fill.
 *
 * Builds without readline refuse the shell (`Compiled without readline, shell is disabled`, or
 * `Invalid command: shell` where the command is compiled out): the session then ends before its
 * first marker, and the caller falls back to a process per poll.
 */
export class IpmitoolShell {
  private child: ChildProcessWithoutNullStreams | null = null
  private buffer = ''
  private stderrTail = ''
  private seq = 0
  private pending: { readonly marker: RegExp; readonly resolve: (r: ShellReply) => void; readonly timer: NodeJS.Timeout } | null = null
  /** Sessions started so far (the first one included). */
  starts = 0

  constructor(
    private readonly file: string,
    /** Connection options only (`-I lanplus -H … -U … -E`); `shell` is appended. */
    private readonly args: readonly string[],
    private readonly env: MeterEnv,
    private readonly extraEnv: Readonly<Record<string, string>>,
    private readonly timeoutMs: number,
  ) {}

  /** Whether a session is running now. */
  get alive(): boolean {
    return this.child !== null
  }

  /**
   * Runs one command (`dcmi power reading`) and resolves with its stdout; never rejects. Starts a
   * session first when none is running (the first call, or after one died). One command at a time:
   * the meter's poll loop never overlaps its polls.
   */
  command(line: string): Promise<ShellReply> {
    if (this.pending !== null) return Promise.resolve({ ok: false, why: 'a command is already in flight' })
    const child = this.child ?? this.spawn()
    const n = ++this.seq
    return new Promise<ShellReply>((resolve) => {
      const timer = setTimeout(() => {
        this.settle({ ok: false, why: `ipmitool shell did not answer in ${this.timeoutMs} ms` })
        this.kill()
      }, this.timeoutMs)
      timer.unref()
      this.pending = { marker: new RegExp(`(?:^|\\n)(?:ipmitool> )*tokenwatt-end-${n} ?\\r?\\n`), resolve, timer }
      child.stdin.write(`${line}\necho tokenwatt-end-${n}\n`)
      this.scan()
    })
  }

  /** Ends the session: `quit`, then SIGTERM and SIGKILL if it lingers. */
  async close(graceMs = 1000): Promise<void> {
    const child = this.child
    if (child === null) return
    this.settle({ ok: false, why: 'ipmitool shell closed' })
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve()
      else child.once('close', () => resolve())
    })
    child.stdin.end('quit\n')
    const term = setTimeout(() => child.kill('SIGTERM'), graceMs)
    const kill = setTimeout(() => child.kill('SIGKILL'), 2 * graceMs)
    term.unref()
    kill.unref()
    await exited
    clearTimeout(term)
    clearTimeout(kill)
    if (this.child === child) this.child = null
  }

  private spawn(): ChildProcessWithoutNullStreams {
    this.starts++
    this.buffer = ''
    this.stderrTail = ''
    const child = spawn(this.file, [...this.args, 'shell'], { env: childEnv(this.env, this.extraEnv), stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true })
    this.child = child
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      if (this.child !== child) return
      this.buffer += chunk
      this.scan()
    })
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (chunk: string) => {
      if (this.child === child) this.stderrTail = (this.stderrTail + chunk).slice(-2000)
    })
    // a write into a shell that has just died: the 'close' below reports it
    child.stdin.on('error', () => undefined)
    const ended = (why: string): void => {
      if (this.child !== child) return
      this.child = null
      const said = firstLine(this.stderrTail)
      this.settle({ ok: false, why: `${why}${said ? `: ${said}` : ''}` })
    }
    child.once('error', (e: NodeJS.ErrnoException) => ended(`${this.file}: ${e.code ?? e.message}`))
    child.once('close', (code, signal) => ended(`ipmitool shell exited (${signal ?? `code ${code ?? '?'}`})`))
    return child
  }

  private scan(): void {
    const p = this.pending
    if (p === null) {
      // output nobody asked for (a prompt, a late line after a timeout): keep only a tail
      if (this.buffer.length > MAX_BUFFER_CHARS) this.buffer = this.buffer.slice(-4096)
      return
    }
    const m = p.marker.exec(this.buffer)
    if (m === null) {
      if (this.buffer.length > MAX_BUFFER_CHARS) {
        this.settle({ ok: false, why: 'ipmitool shell printed too much without finishing the command' })
        this.kill()
      }
      return
    }
    const text = this.buffer.slice(0, m.index).replaceAll('ipmitool> ', '')
    this.buffer = this.buffer.slice(m.index + m[0].length)
    this.settle({ ok: true, text })
  }

  private settle(reply: ShellReply): void {
    const p = this.pending
    if (p === null) return
    this.pending = null
    clearTimeout(p.timer)
    p.resolve(reply)
  }

  private kill(): void {
    const child = this.child
    this.child = null
    child?.kill('SIGKILL')
  }
}
