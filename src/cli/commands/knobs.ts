import { resolve } from 'node:path'
import type { Command } from 'commander'
import { defaultKnobJournalPath, KnobJournal, processAlive } from '../../adapters/knobs/knob-journal.js'
import { describeRestore, restoreOrphans } from '../../adapters/knobs/restore-orphans.js'
import { ExitCode } from '../../core/errors.js'
import type { CliContext } from '../cli-context.js'

export function registerKnobs(program: Command, ctx: CliContext): void {
  const knobs = program.command('knobs').description('Hardware knobs a sweep changed: list them, or put them back (restore journal)')
  const journalOf = (opts: { journal?: string }): string => (opts.journal ? resolve(ctx.host.cwd, opts.journal) : defaultKnobJournalPath(ctx.host.env))
  knobs
    .command('restore')
    .description('Restore every knob the journal says is still changed (left by a killed or crashed sweep) and print what was restored')
    .option('--journal <file>', 'restore journal (default $TOKENWATT_KNOB_JOURNAL or ~/.local/state/tokenwatt/knobs-journal.json)')
    .option('--all', 'also restore knobs of a sweep that is still running')
    .action((opts: { journal?: string; all?: boolean }) => {
      const path = journalOf(opts)
      const r = restoreOrphans(path, ctx.host.env, { all: opts.all === true })
      const out = ctx.host.stdout
      for (const line of describeRestore(r)) out.write(`${line}\n`)
      for (const e of r.live) out.write(`left ${e.id} alone: pid ${e.pid} (a running sweep) changed it and will restore it; --all restores it now\n`)
      if (r.restored.length === 0 && r.failed.length === 0 && r.live.length === 0) out.write(`nothing to restore (${path})\n`)
      ctx.exitCode = r.failed.length > 0 ? ExitCode.KnobFailed : ExitCode.Ok
    })
  knobs
    .command('list')
    .description('List the knobs the journal holds as changed, with their original values')
    .option('--journal <file>', 'restore journal')
    .action((opts: { journal?: string }) => {
      const path = journalOf(opts)
      const entries = new KnobJournal(path).entries()
      if (entries.length === 0) ctx.host.stdout.write(`no changed knobs (${path})\n`)
      for (const e of entries) ctx.host.stdout.write(`${e.id}: original ${e.original} ${e.unit}, changed by pid ${e.pid} (${processAlive(e.pid) ? 'running' : 'gone'}) at ${e.changedAt}\n`)
    })
}
