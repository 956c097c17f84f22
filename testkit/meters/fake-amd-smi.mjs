#!/usr/bin/env node
// A fake `amd-smi` for tests: `metric -p -E [-g IDS] [-w SECONDS] [--json]`, in the real shapes.
// FAKE_TRACE drives socket power; the energy counter is its exact integral plus FAKE_AMD_BASE_J.
// FAKE_AMD_SHAPE: 'gpu_data' (ROCm 7.x JSON, default) | 'array' (older JSON) | 'text' (human format) |
//                 'library' (ROCm 6.0 binding keys: power counts × counter_resolution µJ)
// FAKE_AMD_GPUS: GPU count (default 2; GPU i draws trace × (1 + i/10)); FAKE_AMD_NA_GPU: index printed as N/A.
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { energyBetween, parseTrace, powerAt, traceNow } from './fake-trace.mjs'

const args = process.argv.slice(2)
const steps = parseTrace(process.env.FAKE_TRACE)
const shape = process.env.FAKE_AMD_SHAPE ?? 'gpu_data'
const gpus = Number(process.env.FAKE_AMD_GPUS ?? 2)
const naGpu = process.env.FAKE_AMD_NA_GPU === undefined ? -1 : Number(process.env.FAKE_AMD_NA_GPU)
const base = Number(process.env.FAKE_AMD_BASE_J ?? 71263443.99)
// `static -g N --limit --json` and `set -g N -o W` against the simulated device's state file
// (TOKENWATT_SIM_DEVICE_STATE, mW keys), in amd-smi's shapes; TOKENWATT_SIM_NO_PERMISSION=1 refuses `set`.
if (args[0] === 'static' || args[0] === 'set') {
  const statePath = process.env.TOKENWATT_SIM_DEVICE_STATE
  const state = {}
  try {
    for (const line of readFileSync(statePath ?? '', 'utf8').split('\n')) {
      const eq = line.indexOf('=')
      if (eq > 0) state[line.slice(0, eq)] = Number(line.slice(eq + 1))
    }
  } catch {
    // no state file: the defaults below
  }
  const w = (key, d) => (state[key] ?? d * 1000) / 1000
  const g = Number(args[args.indexOf('-g') + 1] ?? 0)
  if (args[0] === 'static') {
    const entry = { gpu: g, limit: { max_power: { value: w('power_limit_max_mw', 750), unit: 'W' }, min_power: { value: w('power_limit_min_mw', 0), unit: 'W' }, socket_power: { value: w('power_limit_mw', 750), unit: 'W' }, slowdown_edge_temperature: 'N/A' } }
    process.stdout.write(JSON.stringify(shape === 'array' ? [entry] : { gpu_data: [entry] }, null, 4) + '\n')
    process.exit(0)
  }
  if (process.env.TOKENWATT_SIM_NO_PERMISSION === '1') {
    process.stderr.write('AMD SMI: This command requires elevation: run with sudo\n')
    process.exit(1)
  }
  const cap = Number(args[args.indexOf('-o') + 1])
  if (!(cap >= w('power_limit_min_mw', 0) && cap <= w('power_limit_max_mw', 750))) {
    process.stdout.write(`Power cap ${cap} W is out of range\n`)
    process.exit(1)
  }
  const next = { ...state, power_limit_mw: Math.round(cap * 1000) }
  const tmp = `${statePath}.${process.pid}.tmp`
  writeFileSync(tmp, Object.entries(next).map(([k, v]) => `${k}=${Math.round(v)}`).join('\n') + '\n')
  renameSync(tmp, statePath)
  process.stdout.write(`GPU: ${g}\n    POWERCAP: Successfully set power cap to ${cap}W\n`)
  process.exit(0)
}
if (args[0] !== 'metric') {
  process.stderr.write('usage: amd-smi metric ...\n')
  process.exit(2)
}
const gi = args.indexOf('-g')
const ids = gi < 0 ? null : args.slice(gi + 1).filter((a) => /^\d+$/.test(a)).map(Number)
const wi = args.indexOf('-w')
const watchS = wi < 0 ? null : Number(args[wi + 1])
const json = args.includes('--json')
const list = [...Array(gpus).keys()].filter((i) => !ids || ids.includes(i))

function entry(i) {
  const t = traceNow()
  const scale = 1 + i / 10
  if (i === naGpu) return { gpu: i, power: { socket_power: 'N/A', gfx_voltage: 'N/A' }, energy: { total_energy_consumption: 'N/A' } }
  const w = Math.round(powerAt(steps, t) * scale)
  const j = base + energyBetween(steps, 0, t) * scale
  if (shape === 'library') return { gpu: i, power: { average_socket_power: w, current_socket_power: 'N/A' }, energy: { power: Math.round(j / 15.3e-6), counter_resolution: 15.3, timestamp: 1 } }
  return {
    gpu: i,
    power: { socket_power: { value: w, unit: 'W' }, gfx_voltage: { value: 781, unit: 'mV' }, soc_voltage: { value: 699, unit: 'mV' }, mem_voltage: { value: 1101, unit: 'mV' }, throttle_status: 'UNTHROTTLED', power_management: 'ENABLED' },
    energy: { total_energy_consumption: { value: Math.round(j * 1000) / 1000, unit: 'J' } },
  }
}
function print() {
  const entries = list.map(entry)
  if (shape === 'text' || !json) {
    let out = ''
    for (const e of entries) {
      const p = typeof e.power.socket_power === 'object' ? `${e.power.socket_power.value} W` : 'N/A'
      const en = typeof e.energy.total_energy_consumption === 'object' ? `${e.energy.total_energy_consumption.value} J` : 'N/A'
      out += `GPU: ${e.gpu}\n    POWER:\n        SOCKET_POWER: ${p}\n        GFX_VOLTAGE: 780 mV\n    ENERGY:\n        TOTAL_ENERGY_CONSUMPTION: ${en}\n\n`
    }
    process.stdout.write(out)
  } else if (shape === 'array' || shape === 'library') process.stdout.write(JSON.stringify(entries, null, 4) + '\n')
  else process.stdout.write(JSON.stringify({ gpu_data: entries }, null, 4) + '\n')
}
print()
if (watchS !== null) {
  const start = Date.now()
  let k = 1
  const next = () => setTimeout(() => { print(); k++; next() }, Math.max(0, start + k * watchS * 1000 - Date.now()))
  next()
  process.on('SIGTERM', () => process.exit(0))
}
