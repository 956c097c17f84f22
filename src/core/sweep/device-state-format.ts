/**
 * The simulated device's state, shared by the mock engine (reads the cap and clock, writes its power
 * and energy) and the NVML stub / knobs (write the cap, read the power). Two files, each with one
 * kind of writer, so a read-modify-write by one side never puts back a value the other just changed:
 * the controls file (the path given: cap, clock lock and the device's ranges, written by knobs and
 * once by the mock at start) and the telemetry file beside it (`<path>.telemetry`: power, energy,
 * time throttled, written only by the mock). Plain text, one `key=value` per line; writers replace a
 * whole file atomically (temp file + rename); readers tolerate missing keys and lines they do not know.
 *
 * Keys: power_limit_mw, power_limit_default_mw, power_limit_min_mw, power_limit_max_mw,
 * locked_sm_clock_mhz (0 = not locked), sm_clock_max_mhz, power_mw, energy_mj,
 * throttle_power_ns (cumulative ns spent at the power cap).
 */
export const DEVICE_STATE_KEYS = [
  'power_limit_mw',
  'power_limit_default_mw',
  'power_limit_min_mw',
  'power_limit_max_mw',
  'locked_sm_clock_mhz',
  'sm_clock_max_mhz',
  'power_mw',
  'energy_mj',
  'throttle_power_ns',
] as const

/** The keys only the device (the mock) writes, kept in the telemetry file. */
export const DEVICE_TELEMETRY_KEYS: readonly DeviceStateKey[] = ['power_mw', 'energy_mj', 'throttle_power_ns']

/** The telemetry file beside a controls file. */
export function deviceTelemetryPath(controlsPath: string): string {
  return `${controlsPath}.telemetry`
}

export type DeviceStateKey = (typeof DEVICE_STATE_KEYS)[number]
export type DeviceState = Partial<Record<DeviceStateKey, number>>

/** Env variable naming the state file when the mock config does not. */
export const DEVICE_STATE_ENV = 'TOKENWATT_SIM_DEVICE_STATE'

export function parseDeviceState(text: string): DeviceState {
  const out: Record<string, number> = {}
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=')
    if (eq <= 0) continue
    const key = line.slice(0, eq).trim()
    const value = Number(line.slice(eq + 1).trim())
    if ((DEVICE_STATE_KEYS as readonly string[]).includes(key) && Number.isFinite(value)) out[key] = value
  }
  return out
}

export function formatDeviceState(state: DeviceState): string {
  let text = ''
  for (const key of DEVICE_STATE_KEYS) {
    const v = state[key]
    if (v !== undefined) text += `${key}=${Math.round(v)}\n`
  }
  return text
}
