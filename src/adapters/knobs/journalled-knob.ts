import { KnobError } from '../../core/errors.js'
import type { Knob, KnobSetting, PowerThrottleReading } from '../../core/ports.js'
import type { KnobBackend } from './knob-backend.js'
import type { KnobJournal } from './knob-journal.js'

/**
 * A hardware knob that puts back what it found. Before the first change the value in force is read
 * and written (fsynced) to the journal; `restore` writes it back and drops the entry. A value outside
 * the device's range is clamped here (NVML and RAPL reject it rather than clamping) and the clamp
 * shows as `enforced` ≠ `requested`.
 */
export class JournalledKnob implements Knob {
  private original: number | null = null

  constructor(
    private readonly backend: KnobBackend,
    private readonly journal: KnobJournal,
    private readonly pid: number,
    private readonly nowIso: () => string,
  ) {}

  get info(): Knob['info'] {
    return this.backend.info
  }

  get id(): string {
    return this.backend.id
  }

  preflight(): Promise<void> {
    return call(() => this.backend.preflight())
  }

  preflightSync(): void {
    this.backend.preflight()
  }

  read(): Promise<number> {
    return call(() => this.backend.read())
  }

  readSync(): number {
    return this.backend.read()
  }

  set(value: number): Promise<KnobSetting> {
    return call(() => this.setSync(value))
  }

  setSync(value: number): KnobSetting {
    if (this.original === null) {
      // A journal entry left by a crashed run holds the true original: keep it.
      const held = this.journal.find(this.backend.id)
      const found = held ? held.original : this.backend.read()
      this.journal.record({ id: this.backend.id, name: this.backend.info.name, options: this.backend.options, original: found, unit: this.backend.info.unit, pid: this.pid, changedAt: this.nowIso() })
      this.original = found
    }
    const { minValue, maxValue } = this.backend.info
    let v = value
    if (minValue !== undefined && v < minValue) v = minValue
    if (maxValue !== undefined && v > maxValue) v = maxValue
    this.backend.write(v)
    return { requested: value, enforced: this.backend.readEnforced() }
  }

  /** The value found before the first change (null when never changed). */
  get originalValue(): number | null {
    return this.original
  }

  restore(): Promise<void> {
    return call(() => this.restoreSync())
  }

  restoreSync(): void {
    if (this.original === null) return
    this.backend.write(this.original)
    this.journal.remove(this.backend.id)
    this.original = null
  }

  readPowerThrottle(): Promise<PowerThrottleReading> {
    const b = this.backend
    if (!b.readPowerThrottle) return Promise.resolve({ throttledForPowerNs: null, powerCapActive: false, powerBrakeActive: false })
    return call(() => b.readPowerThrottle?.() ?? { throttledForPowerNs: null, powerCapActive: false, powerBrakeActive: false })
  }

  /** Cumulative ns throttled for power; null where the device does not report it. */
  throttledForPowerNsSync(): number | null {
    return this.backend.readPowerThrottle?.().throttledForPowerNs ?? null
  }

  get reportsThrottle(): boolean {
    return this.backend.readPowerThrottle !== undefined
  }

  close(): void {
    this.backend.close?.()
  }
}

function call<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn())
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new KnobError(String(e)))
  }
}
