import assert from 'node:assert/strict'
import { test } from 'node:test'
import { analyzeRun, type AnalysisInput } from '../../src/core/analysis/analyze-run.js'
import { findPowerSettle } from '../../src/core/analysis/power-settle.js'
import { BenchConfigSchema } from '../../src/core/config/bench-schema.js'
import type { PowerSample, RequestRecord } from '../../src/core/records.js'
import { closedLoopRun } from '../../testkit/records.js'

// A steady closed loop whose power, read at 20 Hz, ramps down from 600 W to 400 W over its first
// `rampS` seconds (a new cap taking hold through firmware and thermals) and then holds with ±5 W noise.
function ramp(fromNs: number, toNs: number, rampS: number, channel = 'gpu0'): PowerSample[] {
  const out: PowerSample[] = []
  let seed = 7
  const noise = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 10
  for (let t = fromNs; t <= toNs; t += 50e6) {
    const s = (t - fromNs) / 1e9
    const powerW = (s < rampS ? 600 - (200 * s) / rampS : 400) + noise()
    out.push({ meterId: 'nvml', channel, atNs: t, sourceTimeMs: null, powerW, energyJ: null })
  }
  return out
}

function input(records: RequestRecord[], powerSamples: PowerSample[], settlePower: boolean): AnalysisInput {
  return {
    id: 'r1',
    startedAt: '2026-12-06T00:00:00.000Z',
    endedAt: '2026-12-06T00:01:00.000Z',
    status: 'complete',
    toolVersion: '0.0.0',
    config: BenchConfigSchema.parse({ stop: { requests: records.length }, load: { type: 'closed-loop', concurrency: 2 }, settlePower }),
    target: { endpoint: 'http://x/v1', api: 'chat', model: 'm', server: null },
    workload: {},
    records,
    powerSamples,
    meters: [],
    idleWindowNs: null,
    connections: { opened: 2, connectMs: [0.5, 0.5], connectedAtNs: [-1, -1], connectErrors: 0 },
    droppedArrivals: 0,
    clientMonitor: null,
    warnings: [],
  }
}

test('the power series settles where its ramp ends, not before, and a flat series is settled at once', () => {
  const p = findPowerSettle(ramp(0, 10e9, 3), 0, 10e9)
  assert.ok(p, 'judged')
  assert.ok(p.startNs >= 2.5e9 && p.startNs <= 4e9, `settled at ${p.startNs / 1e9} s`)
  const flat = findPowerSettle(ramp(0, 10e9, 0), 0, 10e9)
  assert.ok(flat && flat.startNs <= 1e9, `flat settled at ${(flat?.startNs ?? 0) / 1e9} s`)
  // energy counters only: power is the counter's slope
  const counter: PowerSample[] = ramp(0, 10e9, 3).reduce<PowerSample[]>((acc, s, i, all) => {
    const prevE = acc[i - 1]?.energyJ ?? 0
    const prev = all[i - 1]
    acc.push({ ...s, powerW: null, energyJ: prev ? prevE + ((s.powerW as number) * (s.atNs - prev.atNs)) / 1e9 : 0 })
    return acc
  }, [])
  const c = findPowerSettle(counter, 0, 10e9)
  assert.ok(c && c.startNs >= 2.5e9 && c.startNs <= 4e9, `counter settled at ${(c?.startNs ?? 0) / 1e9} s`)
  assert.equal(findPowerSettle(ramp(0, 10e9, 3).slice(0, 8), 0, 10e9), null, 'too sparse to judge')
})

test('settlePower moves the window start past the power transient, and the summary says how far', () => {
  const rs = closedLoopRun({ users: 2, perUser: 400, ttftMs: 5, itlMs: 5, tokens: 10 })
  const end = Math.max(...rs.map((r) => r.lastByteAtNs ?? 0))
  const power = [...ramp(0, end, 3), ...ramp(0, end, 3, 'gpu1')]
  const plain = analyzeRun(input(rs, power, false))
  const settled = analyzeRun(input(rs, power, true))
  assert.ok(plain.window.startS < 1, `the load settles at once (${plain.window.startS} s)`)
  assert.ok(settled.window.startS >= 2.5 && settled.window.startS <= 4, `window starts at ${settled.window.startS} s`)
  assert.match(settled.window.method, /\+power-mser5$/)
  assert.ok(Math.abs((settled.window.powerTrimS as number) - (settled.window.startS - plain.window.startS)) < 1e-9)
  assert.equal(settled.window.endS, plain.window.endS)
  // too few readings: the window stays, and a warning says why
  const sparse = analyzeRun(input(rs, power.slice(0, 5), true))
  assert.equal(sparse.window.startS, plain.window.startS)
  assert.ok(sparse.warnings.some((w) => /settlePower: too few power readings/.test(w)))
})
