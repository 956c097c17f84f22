import { Command, CommanderError } from 'commander'
import { ExitCode, isTokenwattError } from '../core/errors.js'
import { registerCommands } from './commands/index.js'
import type { CliContext } from './cli-context.js'
import type { CliHost } from './host.js'
import { VERSION } from './version.js'
import { defaultKnobJournalPath } from '../adapters/knobs/knob-journal.js'
import { describeRestore, restoreOrphans } from '../adapters/knobs/restore-orphans.js'

/**
 * Runs the CLI in-process and returns the exit code. Every error ends as one line (plus a hint) on
 * stderr; a stack only with --verbose.
 */
export async function main(argv: readonly string[], host: CliHost): Promise<number> {
  const ctx: CliContext = { host, exitCode: ExitCode.Ok, verbose: argv.includes('--verbose') }
  const program = new Command('tokenwatt')
    .description('Token economics of LLM inference: tokens per joule, per MW and per dollar, measured end to end.')
    .version(VERSION, '-V, --version')
    .option('--verbose', 'show stack traces and debug output')
    .showSuggestionAfterError(true)
  registerCommands(program, ctx)
  // Every command, nested ones too, writes through the host and never exits the process itself.
  const output = {
    writeOut: (s: string) => host.stdout.write(s),
    writeErr: (s: string) => host.stderr.write(s),
    getOutHelpWidth: () => host.stdout.columns ?? 80,
    getErrHelpWidth: () => host.stderr.columns ?? 80,
    getOutHasColors: () => false,
    getErrHasColors: () => false,
  }
  const configure = (c: Command): void => {
    c.exitOverride().configureOutput(output)
    for (const sub of c.commands) configure(sub)
  }
  configure(program)
  // A sweep killed with -9 (or a crash) left hardware knobs changed: put them back before anything else.
  if (argv[0] !== 'knobs') restoreLeftKnobs(host)
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return ctx.exitCode
  } catch (e) {
    return reportError(e, ctx)
  }
}

function restoreLeftKnobs(host: CliHost): void {
  try {
    const r = restoreOrphans(defaultKnobJournalPath(host.env), host.env)
    for (const line of describeRestore(r)) host.stderr.write(`tokenwatt: ${line}\n`)
    if (r.failed.length > 0) host.stderr.write('hint: run `tokenwatt knobs restore` (as root where the knob needs it) to retry\n')
  } catch (e) {
    host.stderr.write(`tokenwatt: warning: the knob restore journal could not be read (${(e as Error).message})\n`)
  }
}

function reportError(e: unknown, ctx: CliContext): number {
  const err = ctx.host.stderr
  if (e instanceof CommanderError) {
    // help and version end here too, with exit code 0; commander already printed its message
    if (e.exitCode === 0) return ExitCode.Ok
    if (!e.message.startsWith('error:') && !e.message.startsWith('(')) err.write(`tokenwatt: ${e.message}\n`)
    return ExitCode.Usage
  }
  if (isTokenwattError(e)) {
    err.write(`tokenwatt: ${e.message}\n`)
    if (e.hint) err.write(`hint: ${e.hint}\n`)
    if (ctx.verbose && e.stack) err.write(`${e.stack}\n`)
    return e.exitCode
  }
  const message = e instanceof Error ? e.message : String(e)
  err.write(`tokenwatt: internal error: ${message}\n`)
  err.write('hint: this is a bug; rerun with --verbose and report the stack trace\n')
  if (ctx.verbose && e instanceof Error && e.stack) err.write(`${e.stack}\n`)
  return ExitCode.Failure
}
