import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { formatDeviceState, parseDeviceState, type DeviceState } from '../../core/sweep/device-state-format.js'

/** Reads the device state file; a missing or unreadable file reads as no keys. */
export function readDeviceStateFile(path: string): DeviceState {
  try {
    return parseDeviceState(readFileSync(path, 'utf8'))
  } catch {
    return {}
  }
}

/** Replaces the file atomically (temp file + rename), so a reader never sees half a file. */
export function writeDeviceStateFile(path: string, state: DeviceState): void {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  writeFileSync(tmp, formatDeviceState(state))
  renameSync(tmp, path)
}

/** Read-modify-write of some keys; keys another writer owns are kept as found. */
export function updateDeviceStateFile(path: string, patch: DeviceState): DeviceState {
  const next = { ...readDeviceStateFile(path), ...patch }
  writeDeviceStateFile(path, next)
  return next
}
