import type { CliHost } from './host.js'

/** Holds the exit code a command wants, since commander actions return nothing. */
export interface CliContext {
  readonly host: CliHost
  exitCode: number
  verbose: boolean
}
