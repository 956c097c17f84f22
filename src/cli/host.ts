/** What the CLI needs from the process, injected so tests can run the CLI in-process. */
export interface OutputStream {
  write(text: string): void
  readonly isTTY: boolean
  readonly columns?: number
}

export interface CliHost {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  readonly stdout: OutputStream
  readonly stderr: OutputStream
  /** Aborted on the first Ctrl-C (SIGINT/SIGTERM); long jobs stop gracefully and keep partial results. */
  readonly signal: AbortSignal
}

/** The ambient process as a CliHost (used by the real binary only). */
export function processHost(signal: AbortSignal): CliHost {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: {
      write: (t) => void process.stdout.write(t),
      get isTTY() {
        return process.stdout.isTTY === true
      },
      get columns() {
        return process.stdout.columns
      },
    },
    stderr: {
      write: (t) => void process.stderr.write(t),
      get isTTY() {
        return process.stderr.isTTY === true
      },
    },
    signal,
  }
}
