#!/usr/bin/env node
// A fake `nvidia-smi` for tests: answers `--query-gpu=... --format=csv,noheader,nounits [-lms N] [--id=...]`
// in the real CSV format, driven by the FAKE_TRACE power trace (see fake-trace.mjs).
// FAKE_SMI_GPUS: GPU count (default 2; GPU i draws trace × (1 + i/10)).
// FAKE_SMI_MODE: '' | 'na' (GPU 1 prints [N/A] power) | 'old' (no power.draw.instant field) |
//                'nodriver' (fails like a machine whose driver is not loaded) | 'header' (prints a units header first)
// With TOKENWATT_SIM_DEVICE_STATE (the simulated device's state file) it also answers the power-limit
// fields and `-i N -pl W` as the real tool does: out-of-range limits are refused with its message,
// TOKENWATT_SIM_NO_PERMISSION=1 refuses the change as for a user who is not root.
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { energyBetween, parseTrace, powerAt, traceNow } from './fake-trace.mjs'

const args = process.argv.slice(2)
const mode = process.env.FAKE_SMI_MODE ?? ''
const steps = parseTrace(process.env.FAKE_TRACE)
const gpus = Number(process.env.FAKE_SMI_GPUS ?? 2)
const get = (name) => {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`))
  if (i < 0) return undefined
  return args[i].includes('=') ? args[i].slice(args[i].indexOf('=') + 1) : args[i + 1]
}
if (mode === 'nodriver') {
  process.stdout.write("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n\n")
  process.exit(9)
}
const statePath = process.env.TOKENWATT_SIM_DEVICE_STATE
function readState() {
  const out = {}
  if (!statePath) return out
  try {
    for (const line of readFileSync(statePath, 'utf8').split('\n')) {
      const eq = line.indexOf('=')
      if (eq > 0) out[line.slice(0, eq)] = Number(line.slice(eq + 1))
    }
  } catch {
    // no state file yet: the defaults below apply
  }
  return out
}
const state = readState()
const limitW = (key, fallback) => (state[key] !== undefined ? (state[key] / 1000).toFixed(2) : fallback)
const pl = get('-pl')
if (pl !== undefined) {
  const w = Number(pl)
  const bus = '00000000:01:00.0'
  if (process.env.TOKENWATT_SIM_NO_PERMISSION === '1') {
    process.stdout.write(`Changing power management limit is not supported in current scope for GPU: ${bus}.\nAll done.\n`)
    process.stderr.write('Insufficient Permissions\n')
    process.exit(4)
  }
  const min = (state.power_limit_min_mw ?? 100000) / 1000
  const max = (state.power_limit_max_mw ?? 700000) / 1000
  if (!(w >= min && w <= max)) {
    process.stdout.write(`Provided power limit ${w.toFixed(2)} W is not a valid power limit which should be between ${min.toFixed(2)} W and ${max.toFixed(2)} W for GPU ${bus}\nTerminating early due to previous errors.\n`)
    process.exit(2)
  }
  if (statePath) {
    const next = { ...state, power_limit_mw: Math.round(w * 1000) }
    const tmp = `${statePath}.${process.pid}.tmp`
    writeFileSync(tmp, Object.entries(next).map(([k, v]) => `${k}=${Math.round(v)}`).join('\n') + '\n')
    renameSync(tmp, statePath)
  }
  process.stdout.write(`Power limit for GPU ${bus} was set to ${w.toFixed(2)} W from ${limitW('power_limit_mw', '700.00')} W.\nAll done.\n`)
  process.exit(0)
}
const fields = (get('--query-gpu') ?? '').split(',')
if (mode === 'old' && fields.includes('power.draw.instant')) {
  process.stdout.write('Field "power.draw.instant" is not a valid field to query.\n\n')
  process.exit(2)
}
const ids = (get('--id') ?? get('-i'))?.split(',')
const lms = get('-lms')
const pad = (n, w = 2) => String(n).padStart(w, '0')
function stamp(d) {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
}
function line(i) {
  const t = traceNow()
  const scale = 1 + i / 10
  const cell = (f) => {
    switch (f) {
      case 'timestamp': return stamp(new Date())
      case 'index': return String(i)
      case 'uuid': return `GPU-5eb0c0de-0000-4000-8000-${String(i).padStart(12, '0')}`
      case 'name': return 'NVIDIA H100 80GB HBM3'
      case 'power.draw.instant': return mode === 'na' && i === 1 ? '[N/A]' : (powerAt(steps, t) * scale).toFixed(2)
      case 'power.draw':
      case 'power.draw.average': return mode === 'na' && i === 1 ? '[N/A]' : (energyBetween(steps, t - 1, t) * scale).toFixed(2)
      case 'enforced.power.limit':
      case 'power.limit': return limitW('power_limit_mw', '700.00')
      case 'power.min_limit': return limitW('power_limit_min_mw', '100.00')
      case 'power.max_limit': return limitW('power_limit_max_mw', '700.00')
      case 'power.default_limit': return limitW('power_limit_default_mw', '700.00')
      default: return '[Not Supported]'
    }
  }
  return fields.map(cell).join(', ')
}
const selected = [...Array(gpus).keys()].filter((i) => !ids || ids.includes(String(i)) || ids.some((u) => u === `GPU-5eb0c0de-0000-4000-8000-${String(i).padStart(12, '0')}`))
if (ids && selected.length === 0) {
  process.stdout.write(`No devices were found\n`)
  process.exit(6)
}
function tick() {
  process.stdout.write(selected.map(line).join('\n') + '\n')
}
if (mode === 'header') process.stdout.write(`${fields.join(', ')}\n`)
tick()
if (lms !== undefined) {
  const period = Number(lms)
  const start = Date.now()
  let k = 1
  const next = () => setTimeout(() => { tick(); k++; next() }, Math.max(0, start + k * period - Date.now()))
  next()
  process.on('SIGTERM', () => process.exit(0))
}
