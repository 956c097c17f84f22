import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'

/** One hardware knob changed and not yet put back: enough to recreate the knob and restore it. */
export interface KnobJournalEntry {
  /** Knob name + target, e.g. `gpu.power-limit-w@nvml:0`; one entry per changed thing. */
  readonly id: string
  readonly name: string
  /** The options the knob was created with (JSON), so a later process can recreate it by name. */
  readonly options: Readonly<Record<string, unknown>>
  /** The value found before the first change, in the knob's unit. */
  readonly original: number
  readonly unit: string
  /** The process that changed it; its entries are left alone while it is alive. */
  readonly pid: number
  readonly changedAt: string
}

interface JournalFile {
  readonly schema: 'tokenwatt.knob-journal/v1'
  readonly entries: readonly KnobJournalEntry[]
}

/**
 * Where the journal lives: $TOKENWATT_KNOB_JOURNAL, else $XDG_STATE_HOME/tokenwatt/knobs-journal.json,
 * else ~/.local/state/tokenwatt/knobs-journal.json.
 */
export function defaultKnobJournalPath(env: Readonly<Record<string, string | undefined>>): string {
  if (env.TOKENWATT_KNOB_JOURNAL) return env.TOKENWATT_KNOB_JOURNAL
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state')
  return join(base, 'tokenwatt', 'knobs-journal.json')
}

/**
 * The restore journal: the original value of every persistent knob is written here (and fsynced)
 * before its first change, and removed once it is back. Writes replace the file atomically (temp +
 * fsync + rename + directory fsync), so a crash leaves either the old or the new journal, never half.
 */
export class KnobJournal {
  constructor(readonly path: string) {}

  entries(): KnobJournalEntry[] {
    if (!existsSync(this.path)) return []
    try {
      const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as Partial<JournalFile>
      return Array.isArray(parsed.entries) ? [...parsed.entries] : []
    } catch {
      return []
    }
  }

  find(id: string): KnobJournalEntry | undefined {
    return this.entries().find((e) => e.id === id)
  }

  /** Records `entry` unless one for the same id is already there (that one holds the true original). */
  record(entry: KnobJournalEntry): KnobJournalEntry {
    const all = this.entries()
    const held = all.find((e) => e.id === entry.id)
    if (held) return held
    this.write([...all, entry])
    return entry
  }

  remove(id: string): void {
    const all = this.entries()
    if (!all.some((e) => e.id === id)) return
    this.write(all.filter((e) => e.id !== id))
  }

  private write(entries: readonly KnobJournalEntry[]): void {
    const dir = dirname(this.path)
    mkdirSync(dir, { recursive: true })
    const tmp = `${this.path}.${process.pid}.tmp`
    const body: JournalFile = { schema: 'tokenwatt.knob-journal/v1', entries }
    const fd = openSync(tmp, 'w', 0o600)
    try {
      writeSync(fd, `${JSON.stringify(body, null, 2)}\n`)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, this.path)
    try {
      const dfd = openSync(dir, 'r')
      fsyncSync(dfd)
      closeSync(dfd)
    } catch {
      // some file systems refuse a directory fsync; the rename is still atomic
    }
  }
}

/** Whether `pid` is a live process (signal 0 probes without sending). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}
