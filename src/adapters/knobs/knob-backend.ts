import type { KnobInfo, PowerThrottleReading } from '../../core/ports.js'

/**
 * What one adapter does to one device: synchronous reads and writes (a driver call, a sysfs file,
 * a short vendor-tool process), so the same code serves a sweep and the process's exit path, where
 * nothing asynchronous runs any more. {@link JournalledKnob} adds the journal and the restore.
 */
export interface KnobBackend {
  /** Knob name + target, unique per changed thing: `gpu.power-limit-w@nvml:0`. */
  readonly id: string
  readonly info: KnobInfo
  /** The options that recreate this backend in a later process (no secrets). */
  readonly options: Readonly<Record<string, unknown>>
  /** Throws a one-line KnobError (with a hint) when the knob cannot be read or changed here. */
  preflight(): void
  /** The value in force now. */
  read(): number
  /** Applies a value already inside [minValue, maxValue]. */
  write(value: number): void
  /** What the device enforces after a write (a clamp or another limit shows here). */
  readEnforced(): number
  readPowerThrottle?(): PowerThrottleReading
  close?(): void
}
