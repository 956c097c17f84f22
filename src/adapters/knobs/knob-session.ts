import { KnobError } from '../../core/errors.js'
import type { KnobApplied } from '../../core/sweep/sweep-result.js'
import type { HardwareKnobSpec } from '../../core/sweep/sweep-schema.js'
import { createBackends } from './create-knob.js'
import { JournalledKnob } from './journalled-knob.js'
import { KnobJournal } from './knob-journal.js'

type Env = Readonly<Record<string, string | undefined>>

let openSessions = 0
/** Whether this process has a sweep changing knobs now (its own journal entries are then live). */
export function knobSessionOpen(): boolean {
  return openSessions > 0
}

/** What a restore put back (or could not). */
export interface RestoreReport {
  readonly restored: { readonly id: string; readonly value: number; readonly unit: string }[]
  readonly failed: { readonly id: string; readonly error: string }[]
}

/**
 * The hardware knobs of one sweep, each axis driving one knob per device. Every original is in the
 * journal before its first change; `restoreAll` puts them back, and until it has, a process `exit`
 * hook does it synchronously (a second Ctrl-C, an uncaught error, `process.exit`). A kill -9 leaves
 * the journal, which the next tokenwatt command (or `tokenwatt knobs restore`) replays.
 */
export class KnobSession {
  readonly journal: KnobJournal
  private readonly axes = new Map<string, JournalledKnob[]>()
  private exitHook: (() => void) | null = null

  constructor(journalPath: string, private readonly env: Env, private readonly pid = process.pid) {
    this.journal = new KnobJournal(journalPath)
  }

  /** Opens every device a knob names and checks it can be changed, before any load is sent. */
  open(specs: readonly HardwareKnobSpec[]): void {
    for (const spec of specs) {
      const knobs = createBackends(spec, this.env).map((b) => new JournalledKnob(b, this.journal, this.pid, () => new Date().toISOString()))
      if (this.axes.size === 0) openSessions += 1
      this.axes.set(spec.name, knobs)
    }
    for (const knobs of this.axes.values()) for (const k of knobs) k.preflightSync()
  }

  get names(): string[] {
    return [...this.axes.keys()]
  }

  /** The value each axis's first device has now (before any change: the originals). */
  current(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [name, knobs] of this.axes) {
      const k = knobs[0]
      if (k) out[name] = k.originalValue ?? k.readSync()
    }
    return out
  }

  /** Sets `name` to `value` on every device it drives; returns what each enforces. */
  apply(name: string, value: number): KnobApplied {
    const knobs = this.axes.get(name)
    if (!knobs) throw new KnobError(`knob ${name} was not opened`)
    this.installExitHook()
    const enforced: Record<string, number> = {}
    for (const k of knobs) enforced[k.id] = k.setSync(value).enforced
    return { requested: value, enforced }
  }

  /** Sum over devices of the cumulative ns throttled for power (null when no device reports it). */
  throttledForPowerNs(): number | null {
    let total: number | null = null
    const seen = new Set<string>()
    for (const knobs of this.axes.values()) {
      for (const k of knobs) {
        const target = k.id.slice(k.id.indexOf('@'))
        if (seen.has(target) || !k.reportsThrottle) continue
        seen.add(target)
        const ns = k.throttledForPowerNsSync()
        if (ns !== null) total = (total ?? 0) + ns
      }
    }
    return total
  }

  /** Puts every changed knob back; keeps going past a failure and reports it. */
  restoreAll(): RestoreReport {
    const report: RestoreReport = { restored: [], failed: [] }
    for (const knobs of this.axes.values()) {
      for (const k of knobs) {
        const original = k.originalValue
        if (original === null) continue
        try {
          k.restoreSync()
          report.restored.push({ id: k.id, value: original, unit: k.info.unit })
        } catch (e) {
          report.failed.push({ id: k.id, error: (e as Error).message })
        }
      }
    }
    if (report.failed.length === 0) this.removeExitHook()
    return report
  }

  close(): void {
    for (const knobs of this.axes.values()) for (const k of knobs) k.close()
    if (this.axes.size > 0) openSessions -= 1
    this.axes.clear()
    this.removeExitHook()
  }

  private installExitHook(): void {
    if (this.exitHook) return
    this.exitHook = () => {
      const r = this.restoreAll()
      for (const x of r.restored) process.stderr.write(`tokenwatt: restored ${x.id} to ${x.value} ${x.unit}\n`)
      for (const x of r.failed) process.stderr.write(`tokenwatt: could not restore ${x.id}: ${x.error}; run \`tokenwatt knobs restore\`\n`)
    }
    process.on('exit', this.exitHook)
  }

  private removeExitHook(): void {
    if (this.exitHook) process.off('exit', this.exitHook)
    this.exitHook = null
  }
}

