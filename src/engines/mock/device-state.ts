import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { DEVICE_TELEMETRY_KEYS, deviceTelemetryPath, formatDeviceState, parseDeviceState, type DeviceState, type DeviceStateKey } from '../../core/sweep/device-state-format.js'

function readOne(path: string): DeviceState {
  try {
    return parseDeviceState(readFileSync(path, 'utf8'))
  } catch {
    return {}
  }
}

/** The device's whole state: its controls file, with the telemetry file beside it read over it; a missing or unreadable file reads as no keys. */
export function readDeviceStateFile(path: string): DeviceState {
  return { ...pick(readOne(path), false), ...pick(readOne(deviceTelemetryPath(path)), true) }
}

/** The controls alone (cap, clock lock, ranges): what the device itself needs to read each tick. */
export function readDeviceControlsFile(path: string): DeviceState {
  return pick(readOne(path), false)
}

/** Replaces one file atomically (temp file + rename), so a reader never sees half a file. */
function writeOne(path: string, state: DeviceState): void {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  writeFileSync(tmp, formatDeviceState(state))
  renameSync(tmp, path)
}

function pick(state: DeviceState, telemetry: boolean): DeviceState {
  const out: DeviceState = {}
  for (const [k, v] of Object.entries(state) as [DeviceStateKey, number][]) if (DEVICE_TELEMETRY_KEYS.includes(k) === telemetry) out[k] = v
  return out
}

/**
 * Read-modify-write of some keys, each in the file that holds it (controls or telemetry); keys the
 * patch does not name are kept as found. Only the files the patch touches are rewritten, so the
 * mock's telemetry ticks never rewrite the cap a knob set.
 */
export function updateDeviceStateFile(path: string, patch: DeviceState): void {
  for (const telemetry of [false, true]) {
    const part = pick(patch, telemetry)
    if (Object.keys(part).length === 0) continue
    const file = telemetry ? deviceTelemetryPath(path) : path
    writeOne(file, { ...pick(readOne(file), telemetry), ...part })
  }
}
