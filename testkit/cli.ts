import { main } from '../src/cli/main.js'
import type { CliHost } from '../src/cli/host.js'

export interface CliRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs the CLI in-process with an injected host, the way a user would run it, and captures output. */
export async function runCli(argv: string[], o: { cwd: string; env?: Record<string, string>; signal?: AbortSignal; stdinTTY?: boolean } = { cwd: process.cwd() }): Promise<CliRun> {
  let stdout = ''
  let stderr = ''
  const host: CliHost = {
    env: { HOME: o.cwd, ...o.env },
    cwd: o.cwd,
    stdout: { write: (t) => void (stdout += t), isTTY: false },
    stderr: { write: (t) => void (stderr += t), isTTY: false },
    signal: o.signal ?? new AbortController().signal,
  }
  const code = await main(argv, host)
  return { code, stdout, stderr }
}
