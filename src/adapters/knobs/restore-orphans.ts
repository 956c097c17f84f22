import { recreateBackend } from './create-knob.js'
import { knobSessionOpen } from './knob-session.js'
import { KnobJournal, processAlive, type KnobJournalEntry } from './knob-journal.js'

type Env = Readonly<Record<string, string | undefined>>

export interface OrphanRestore {
  readonly restored: readonly KnobJournalEntry[]
  /** Entries of a process still running (a sweep in progress): left alone unless `all`. */
  readonly live: readonly KnobJournalEntry[]
  readonly failed: readonly { readonly entry: KnobJournalEntry; readonly error: string }[]
}

/**
 * Puts back every knob the journal says a process changed and did not restore (it was killed or
 * crashed). Entries of live processes are left alone unless `all`. Never throws: failures are reported.
 */
export function restoreOrphans(journalPath: string, env: Env, options: { all?: boolean } = {}): OrphanRestore {
  const journal = new KnobJournal(journalPath)
  const restored: KnobJournalEntry[] = []
  const live: KnobJournalEntry[] = []
  const failed: { entry: KnobJournalEntry; error: string }[] = []
  for (const entry of journal.entries()) {
    const own = entry.pid === process.pid
    if (!options.all && (own ? knobSessionOpen() : processAlive(entry.pid))) {
      live.push(entry)
      continue
    }
    try {
      const backend = recreateBackend(entry.name, entry.options, env)
      try {
        backend.write(entry.original)
      } finally {
        backend.close?.()
      }
      journal.remove(entry.id)
      restored.push(entry)
    } catch (e) {
      failed.push({ entry, error: (e as Error).message })
    }
  }
  return { restored, live, failed }
}

/** One line per restored or failed entry, for stderr. */
export function describeRestore(r: OrphanRestore): string[] {
  return [
    ...r.restored.map((e) => `restored ${e.id} to ${e.original} ${e.unit} (changed by pid ${e.pid} at ${e.changedAt}, which did not put it back)`),
    ...r.failed.map((f) => `could not restore ${f.entry.id} to ${f.entry.original} ${f.entry.unit}: ${f.error}`),
  ]
}
