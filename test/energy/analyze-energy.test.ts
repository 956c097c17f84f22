import assert from 'node:assert/strict'
import { test } from 'node:test'
import { analyzeEnergy, type EnergyAnalysisInput } from '../../src/core/analysis/energy/analyze-energy.js'
import { counterEnergy, trapezoidEnergy, type ChannelSpec } from '../../src/core/analysis/energy/channel-energy.js'
import { AttributionSchema } from '../../src/core/config/meters-schema.js'
import type { Boundary, MeterInfo } from '../../src/core/ports.js'
import type { PowerSample } from '../../src/core/records.js'

const S = 1e9
const spec = (o: Partial<ChannelSpec> = {}): ChannelSpec => ({ periodMs: 100, averagingWindowMs: 0, accuracyRel: 0, accuracyW: 0, resolutionW: 0, resolutionJ: 0, modulusJ: undefined, ...o })

function meter(o: Partial<MeterInfo> & Pick<MeterInfo, 'id' | 'kind' | 'boundary'>): MeterInfo {
  return { hasCounter: false, periodMs: 100, averagingWindowMs: 0, accuracyRel: 0, accuracyW: 0, estimated: false, description: o.id, ...o }
}

/** Samples of a power trace: power readings and/or the exact cumulative counter (J), every periodMs. */
function trace(meterId: string, channel: string, powerAt: (tS: number) => number, o: { fromS: number; toS: number; periodMs: number; counter?: boolean; power?: boolean; counterStartJ?: number; modulusJ?: number }): PowerSample[] {
  const out: PowerSample[] = []
  let e = o.counterStartJ ?? 0
  const dt = o.periodMs / 1000
  let prevT = o.fromS
  for (let t = o.fromS; t <= o.toS + 1e-9; t += dt) {
    // exact integral by fine midpoint steps
    const steps = 50
    for (let k = 0; k < steps; k++) e += powerAt(prevT + ((t - prevT) * (k + 0.5)) / steps) * ((t - prevT) / steps)
    prevT = t
    const raw = o.modulusJ !== undefined ? e % o.modulusJ : e
    out.push({ meterId, channel, atNs: Math.round(t * S), sourceTimeMs: null, powerW: o.power === false ? null : powerAt(t), energyJ: o.counter ? raw : null })
  }
  return out
}

function input(o: Omit<Partial<EnergyAnalysisInput>, 'attribution' | 'boundary'> & { samples: PowerSample[]; meters: MeterInfo[]; attribution?: unknown; boundary?: Boundary }): EnergyAnalysisInput {
  return {
    window: { startNs: 10 * S, endNs: 110 * S },
    idleWindow: null,
    outputTokens: 100_000,
    inputTokens: 300_000,
    durationS: 100,
    ...o,
    boundary: o.boundary ?? 'device',
    attribution: AttributionSchema.parse(o.attribution ?? {}),
  }
}

const close = (a: number, b: number, rel: number, msg?: string): void => assert.ok(Math.abs(a - b) <= rel * Math.abs(b), msg ?? `${a} not within ${rel * 100}% of ${b}`)
const within = (x: number, i: { low: number; high: number } | null, msg?: string): void => {
  assert.ok(i, 'no interval')
  assert.ok(x >= i.low && x <= i.high, msg ?? `${x} outside [${i.low}, ${i.high}]`)
}

test('counter: steady 500 W gives the exact energy inside a window that falls between readings', () => {
  const pts = trace('m', 'g', () => 500, { fromS: 0, toS: 120, periodMs: 100, counter: true }).map((s) => ({ tNs: s.atNs + 37e6, v: s.energyJ as number }))
  const r = counterEnergy(pts, { startNs: 10 * S, endNs: 110 * S }, spec())
  assert.ok(r)
  close(r.energyJ, 50_000, 0.001)
  assert.equal(r.coverage, 1)
  assert.equal(r.method, 'counter')
})

test('counter: RAPL wraparound at max_energy_range_uj is unwrapped', () => {
  const modulusJ = 262_143.32885 // max_energy_range_uj 262143328850 µJ
  const samples = trace('rapl', 'package-0', () => 2500, { fromS: 0, toS: 320, periodMs: 1000, counter: true, power: false, counterStartJ: modulusJ - 5000, modulusJ })
  const r = counterEnergy(samples.map((s) => ({ tNs: s.atNs, v: s.energyJ as number })), { startNs: 10 * S, endNs: 310 * S }, spec({ periodMs: 1000, modulusJ }))
  assert.ok(r)
  assert.equal(r.wraps, 4) // 800 kJ over the trace, from 5 kJ below the top of a 262 kJ range
  close(r.energyJ, 2500 * 300, 0.001)
})

test('counter: a reset (driver reload) is bridged, flagged, and the truth stays inside the interval', () => {
  const samples = trace('nvml', 'GPU-a', () => 300, { fromS: 0, toS: 120, periodMs: 100, counter: true, counterStartJ: 1e6 })
  // driver reload at t = 50 s: the counter restarts from 0
  let offset: number | null = null
  const reset = samples.map((s) => {
    if (s.atNs < 50 * S) return s
    offset ??= s.energyJ as number
    return { ...s, energyJ: (s.energyJ as number) - offset + 3 }
  })
  const r = counterEnergy(reset.map((s) => ({ tNs: s.atNs, v: s.energyJ as number })), { startNs: 10 * S, endNs: 110 * S }, spec())
  assert.ok(r)
  assert.equal(r.resets, 1)
  assert.ok(r.coverage < 1 && r.coverage > 0.99)
  close(r.energyJ, 30_000, 0.001)
  within(30_000, { low: r.energyJ - r.halfWidthJ, high: r.energyJ + r.halfWidthJ })
  assert.match(r.notes.join(' '), /reset/)
})

test('trapezoid: 1-s averaged readings are shifted back by half a second; the truth is inside the interval', () => {
  const p = (t: number): number => 400 + 200 * Math.sin((2 * Math.PI * t) / 7) + (t > 33 && t < 47 ? 150 : 0)
  // each reading is the true average over the previous second
  const avg = (t: number): number => {
    let s = 0
    for (let k = 0; k < 200; k++) s += p(t - 1 + (k + 0.5) / 200)
    return s / 200
  }
  const pts: { tNs: number; v: number }[] = []
  for (let t = 1; t <= 120; t += 0.1) pts.push({ tNs: Math.round(t * S), v: avg(t) })
  let truth = 0
  for (let k = 0; k < 100_000; k++) truth += p(10 + (k + 0.5) * 0.001) * 0.001
  const win = { startNs: 10 * S, endNs: 110 * S }
  const shifted = trapezoidEnergy(pts, win, spec({ averagingWindowMs: 1000 }))
  const naive = trapezoidEnergy(pts, win, spec({ averagingWindowMs: 0 }))
  assert.ok(shifted && naive)
  within(truth, { low: shifted.energyJ - shifted.halfWidthJ, high: shifted.energyJ + shifted.halfWidthJ })
  assert.ok(Math.abs(shifted.energyJ - truth) < Math.abs(naive.energyJ - truth), 'the shift must reduce the error')
  assert.ok(shifted.halfWidthJ / shifted.energyJ < 0.02, `interval too wide: ${shifted.halfWidthJ}`)
})

test('trapezoid: a step between 1 Hz readings stays inside the interval; a gap lowers coverage and widens it', () => {
  const p = (t: number): number => (t < 40.3 ? 200 : 800)
  const pts: { tNs: number; v: number }[] = []
  for (let t = 0; t <= 120; t += 1) if (t < 60 || t > 70) pts.push({ tNs: t * S, v: p(t) })
  const truth = 200 * 30.3 + 800 * 69.7
  const r = trapezoidEnergy(pts, { startNs: 10 * S, endNs: 110 * S }, spec({ periodMs: 1000 }))
  assert.ok(r)
  within(truth, { low: r.energyJ - r.halfWidthJ, high: r.energyJ + r.halfWidthJ })
  assert.equal(r.gaps, 1)
  close(r.coverage, 0.9, 0.02)
})

test('meters: nested RAPL subzones are not added to their package; dram adds', () => {
  const m = meter({ id: 'rapl', kind: 'rapl', boundary: 'device', hasCounter: true })
  const samples = [
    ...trace('rapl', 'package-0', () => 100, { fromS: 0, toS: 120, periodMs: 100, counter: true, power: false }),
    ...trace('rapl', 'package-0/core', () => 70, { fromS: 0, toS: 120, periodMs: 100, counter: true, power: false }),
    ...trace('rapl', 'dram-0', () => 20, { fromS: 0, toS: 120, periodMs: 100, counter: true, power: false }),
  ]
  const r = analyzeEnergy(input({ samples, meters: [m] }))
  close(r.power.energyJ as number, 120 * 100, 0.001)
  const pc = r.power.meters[0]?.perChannel as { channel: string; nested: boolean }[]
  assert.deepEqual(pc.map((c) => [c.channel, c.nested]), [['dram-0', false], ['package-0', false], ['package-0/core', true]])
})

test('meters: one GPU read by nvml and nvidia-smi counts once, the counter wins, the other cross-checks', () => {
  const nvml = meter({ id: 'nvml', kind: 'nvml', boundary: 'device', hasCounter: true, accuracyW: 5 })
  const smi = meter({ id: 'nvidia-smi', kind: 'nvidia-smi', boundary: 'device', accuracyW: 5 })
  const samples = [
    ...trace('nvml', 'GPU-a', () => 650, { fromS: 0, toS: 120, periodMs: 100, counter: true }),
    ...trace('nvml', 'GPU-b', () => 600, { fromS: 0, toS: 120, periodMs: 100, counter: true }),
    ...trace('nvidia-smi', 'GPU-a', () => 655, { fromS: 0, toS: 120, periodMs: 200 }),
  ]
  const r = analyzeEnergy(input({ samples, meters: [nvml, smi] }))
  close(r.power.energyJ as number, 1250 * 100, 0.001)
  assert.deepEqual(r.power.measured, ['device: nvml:GPU-a + nvml:GPU-b'])
  const dev = r.power.levels.find((l) => l.boundary === 'device')
  assert.ok(dev?.crossCheck)
  close(dev.crossCheck.diffRel, 650 / 655 - 1, 0.01)
  assert.equal(r.power.meters.find((m) => m.id === 'nvidia-smi')?.role, 'cross-check')
})

test('attribution: InferenceX chassis example, 4,000 W GPU → 6,228.2 W chassis AC → 7,473.8 W at PUE 1.2', () => {
  const m = meter({ id: 'nvml', kind: 'nvml', boundary: 'device', hasCounter: true })
  const samples = trace('nvml', 'GPU-a', () => 4000, { fromS: 0, toS: 120, periodMs: 100, counter: true })
  // (4000 × (1 + s)) / 0.94 = 6228.2  ⇒  s = 6228.2 × 0.94 / 4000 − 1
  const s = (6228.2 * 0.94) / 4000 - 1
  const attribution = { host: { shareOfDevice: s }, psuEfficiency: 0.94, rack: { networkShare: 0, pduEfficiency: 1 }, facility: { pue: 1.2 } }
  const node = analyzeEnergy(input({ samples, meters: [m], attribution, boundary: 'node' }))
  close(node.power.avgW as number, 6228.2, 1e-4)
  assert.equal(node.power.source, 'modeled')
  const facility = analyzeEnergy(input({ samples, meters: [m], attribution, boundary: 'facility' }))
  close(facility.power.avgW as number, 7473.84, 1e-4)
  assert.ok(facility.power.modeled.some((x) => x.startsWith('facility: PUE (category 1) 1.2')))
})

test('attribution: default ranges by hand (share 0.45 [0.25–0.8], PSU 0.94 [0.90–0.96], network 3 % [1–6], PDU 98 % [97–99], PUE 1.3 [1.1–1.58])', () => {
  const m = meter({ id: 'nvml', kind: 'nvml', boundary: 'device', hasCounter: true })
  const samples = trace('nvml', 'GPU-a', () => 1000, { fromS: 0, toS: 120, periodMs: 100, counter: true })
  const r = analyzeEnergy(input({ samples, meters: [m], boundary: 'facility' }))
  const dev = 100_000
  const node = (dev * 1.45) / 0.94
  const rack = (node * 1.03) / 0.98
  const fac = rack * 1.3
  const lv = (b: Boundary) => r.power.levels.find((l) => l.boundary === b)
  close(lv('node')?.energyJ as number, node, 1e-3)
  close(lv('rack')?.energyJ as number, rack, 1e-3)
  close(r.power.energyJ as number, fac, 1e-3)
  // interval: every assumption at its end, device exact here
  close(r.power.interval?.low as number, ((((dev * 1.25) / 0.96) * 1.01) / 0.99) * 1.1, 1e-3)
  close(r.power.interval?.high as number, ((((dev * 1.8) / 0.9) * 1.06) / 0.97) * 1.58, 1e-3)
  close(r.efficiency.joulesPerOutputToken as number, fac / 100_000, 1e-3)
})

test('attribution: PUE measured at the PDU output (category 2) does not count PDU losses twice', () => {
  const m = meter({ id: 'nvml', kind: 'nvml', boundary: 'device', hasCounter: true })
  const samples = trace('nvml', 'GPU-a', () => 1000, { fromS: 0, toS: 120, periodMs: 100, counter: true })
  const attribution = { host: { shareOfDevice: 0.5 }, psuEfficiency: 0.95, rack: { networkShare: 0.02, pduEfficiency: 0.97 }, facility: { pue: 1.25, pueCategory: 2 as const } }
  const r = analyzeEnergy(input({ samples, meters: [m], attribution, boundary: 'facility' }))
  close(r.power.avgW as number, ((1000 * 1.5) / 0.95) * 1.02 * 1.25, 1e-6)
})

test('attribution: RAPL-measured CPU + DRAM replaces the host share', () => {
  const gpu = meter({ id: 'nvml', kind: 'nvml', boundary: 'device', hasCounter: true })
  const rapl = meter({ id: 'rapl', kind: 'rapl', boundary: 'node', hasCounter: true, component: 'cpu+dram' })
  const samples = [
    ...trace('nvml', 'GPU-a', () => 1000, { fromS: 0, toS: 120, periodMs: 100, counter: true }),
    ...trace('rapl', 'package-0', () => 180, { fromS: 0, toS: 120, periodMs: 100, counter: true, power: false }),
    ...trace('rapl', 'dram-0', () => 20, { fromS: 0, toS: 120, periodMs: 100, counter: true, power: false }),
  ]
  const r = analyzeEnergy(input({ samples, meters: [gpu, rapl], boundary: 'node', attribution: { host: { otherShare: 0.1 }, psuEfficiency: 0.94 } }))
  close(r.power.avgW as number, (1200 * 1.1) / 0.94, 1e-4)
  assert.deepEqual(r.power.measured, ['device: nvml:GPU-a', 'node CPU+DRAM: rapl'])
  assert.equal(r.power.meters.find((m) => m.id === 'rapl')?.role, 'component')
})

test('attribution: a measured node is used and cross-checked against the model; a node below the device warns', () => {
  const gpu = meter({ id: 'nvml', kind: 'nvml', boundary: 'device', hasCounter: true })
  const ipmi = meter({ id: 'ipmi', kind: 'ipmi', boundary: 'node', periodMs: 1000, resolutionW: 1, accuracyRel: 0.05 })
  const samples = [...trace('nvml', 'GPU-a', () => 1000, { fromS: 0, toS: 120, periodMs: 100, counter: true }), ...trace('ipmi', 'node', () => 1500, { fromS: 0, toS: 120, periodMs: 1000 })]
  const r = analyzeEnergy(input({ samples, meters: [gpu, ipmi], boundary: 'node' }))
  assert.equal(r.power.source, 'measured')
  close(r.power.avgW as number, 1500, 1e-3)
  const node = r.power.levels.find((l) => l.boundary === 'node')
  assert.ok(node?.crossCheck)
  close(node.crossCheck.otherJ, (100_000 * 1.45) / 0.94, 1e-3)
  close(node.crossCheck.diffRel, 150_000 / ((100_000 * 1.45) / 0.94) - 1, 1e-3)

  const low = [...trace('nvml', 'GPU-a', () => 1000, { fromS: 0, toS: 120, periodMs: 100, counter: true }), ...trace('ipmi', 'node', () => 700, { fromS: 0, toS: 120, periodMs: 1000 })]
  const w = analyzeEnergy(input({ samples: low, meters: [gpu, ipmi], boundary: 'node' })).warnings.join('\n')
  assert.match(w, /node meter reads less than the device/)
})

test('efficiency: tokens per joule, joules per token, per MW, provisioned MW from power caps, idle and dynamic shares', () => {
  const gpu = meter({ id: 'nvml', kind: 'nvml', boundary: 'device', hasCounter: true, powerLimitW: { 'GPU-a': 700, 'GPU-b': 700 } })
  const samples = [
    ...trace('nvml', 'GPU-a', (t) => (t < 8 ? 100 : 500), { fromS: 0, toS: 120, periodMs: 100, counter: true }),
    ...trace('nvml', 'GPU-b', (t) => (t < 8 ? 100 : 500), { fromS: 0, toS: 120, periodMs: 100, counter: true }),
  ]
  const r = analyzeEnergy(input({ samples, meters: [gpu], idleWindow: { startNs: 1 * S, endNs: 7 * S } }))
  const e = r.efficiency
  close(r.power.energyJ as number, 100_000, 1e-3)
  close(e.outputTokensPerJoule as number, 1, 1e-3)
  close(e.totalTokensPerJoule as number, 4, 1e-3)
  close(e.joulesPerOutputToken as number, 1, 1e-3)
  close(e.joulesPerToken as number, 0.25, 1e-3)
  close(e.outputTokensPerSPerMW as number, 1e6, 1e-3) // 1000 tok/s at 1000 W
  close(e.outputTokensPerSPerProvisionedMW as number, 1000 / 1400e-6, 1e-6)
  close(r.power.idleW as number, 200, 1e-3)
  close(e.idleShare as number, 0.2, 1e-3) // 200 W idle of 1000 W
  close(e.dynamicJoulesPerOutputToken as number, 0.8, 1e-3)
  within(1, e.interval)
  assert.equal(e.boundary, 'device')
})

test('null with a reason: device boundary with only a node meter; no meters at all', () => {
  const ipmi = meter({ id: 'ipmi', kind: 'ipmi', boundary: 'node', periodMs: 1000 })
  const samples = trace('ipmi', 'node', () => 300, { fromS: 0, toS: 120, periodMs: 1000 })
  const r = analyzeEnergy(input({ samples, meters: [ipmi], boundary: 'device' }))
  assert.equal(r.power.energyJ, null)
  assert.equal(r.efficiency.joulesPerOutputToken, null)
  assert.match(r.warnings.join('\n'), /no energy at the device boundary: no meter at the device boundary/)
  // the node level is still there for whoever reads the levels
  close(r.power.levels.find((l) => l.boundary === 'node')?.energyJ as number, 30_000, 1e-3)
  const none = analyzeEnergy(input({ samples: [], meters: [] }))
  assert.equal(none.efficiency.outputTokensPerJoule, null)
  assert.match(none.warnings.join('\n'), /no power meter was used/)
})

test('estimate meter: the node figure is labelled modelled, never measured', () => {
  const est = meter({ id: 'estimate', kind: 'estimate', boundary: 'node', estimated: true, accuracyRel: 0.3 })
  const samples = trace('estimate', 'node', () => 120, { fromS: 0, toS: 120, periodMs: 500 })
  const r = analyzeEnergy(input({ samples, meters: [est], boundary: 'node' }))
  assert.equal(r.power.source, 'modeled')
  assert.deepEqual(r.power.measured, [])
  assert.match(r.power.modeled.join(), /utilisation estimate/)
  assert.equal(r.power.meters[0]?.measured, false)
})

test('clock offset of a source with its own timestamps is reported', () => {
  const m = meter({ id: 'smi', kind: 'nvidia-smi', boundary: 'device' })
  const anchor = { atNs: 0, wallMs: 1_700_000_000_000 }
  const samples = trace('smi', 'GPU-a', () => 300, { fromS: 0, toS: 120, periodMs: 1000 }).map((s) => ({ ...s, sourceTimeMs: anchor.wallMs + s.atNs / 1e6 + 250 }))
  const r = analyzeEnergy({ ...input({ samples, meters: [m] }), wallAnchor: anchor })
  close(r.power.meters[0]?.clockOffsetMs as number, 250, 1e-6)
})

test('counter: a power step inside the reading interval at a window edge stays inside the interval', () => {
  const p = (t: number): number => (t < 10.02 ? 100 : 900)
  const pts = trace('m', 'g', p, { fromS: 0, toS: 120, periodMs: 1000, counter: true }).map((s) => ({ tNs: s.atNs, v: s.energyJ as number }))
  const win = { startNs: 10.5 * S, endNs: 60.5 * S }
  const r = counterEnergy(pts, win, spec({ periodMs: 1000 }))
  assert.ok(r)
  within(900 * 50, { low: r.energyJ - r.halfWidthJ, high: r.energyJ + r.halfWidthJ })
})

test('meters labelled with different nodes add up at device and node; the same node keeps alternatives', () => {
  const gpu = (id: string, node: string): MeterInfo => meter({ id, kind: 'nvml', boundary: 'device', node })
  const bmc = (id: string, node: string): MeterInfo => meter({ id, kind: 'ipmi', boundary: 'node', node })
  const t = (id: string, ch: string, w: number): PowerSample[] => trace(id, ch, () => w, { fromS: 0, toS: 120, periodMs: 100 })
  // two nodes whose GPUs both answer to channel "0", and one BMC per node
  const meters = [gpu('gpu-a', 'node-a'), gpu('gpu-b', 'node-b'), bmc('bmc-a', 'node-a'), bmc('bmc-b', 'node-b')]
  const samples = [...t('gpu-a', '0', 300), ...t('gpu-b', '0', 400), ...t('bmc-a', 'psu', 900), ...t('bmc-b', 'psu', 1100)]
  const dev = analyzeEnergy(input({ samples, meters, boundary: 'device' }))
  close(dev.power.energyJ as number, (300 + 400) * 100, 0.001)
  const node = analyzeEnergy(input({ samples, meters, boundary: 'node' }))
  close(node.power.energyJ as number, (900 + 1100) * 100, 0.001)
  // without labels the two GPUs on channel "0" would be one unit read twice: the label is what tells them apart
  const unlabelled = analyzeEnergy(input({ samples, meters: meters.map(({ node: _n, ...m }) => m), boundary: 'device' }))
  assert.ok((unlabelled.power.energyJ as number) < 0.6 * 700 * 100)
})

test('cluster: the racks of the run, each counted once; a meter at the cluster boundary measures it, the model cross-checks', () => {
  const t = (id: string, w: number): PowerSample[] => trace(id, 'in', () => w, { fromS: 0, toS: 120, periodMs: 100 })
  const pdus = [meter({ id: 'pdu-r1', kind: 'snmp', boundary: 'rack', rack: 'r1' }), meter({ id: 'pdu-r2', kind: 'snmp', boundary: 'rack', rack: 'r2' })]
  const samples = [...t('pdu-r1', 5000), ...t('pdu-r2', 7000)]
  const modelled = analyzeEnergy(input({ samples, meters: pdus, boundary: 'cluster' }))
  const lv = (r: typeof modelled, b: Boundary) => r.power.levels.find((l) => l.boundary === b)
  close(modelled.power.energyJ as number, 12_000 * 100, 0.001)
  assert.equal(lv(modelled, 'cluster')?.source, 'modeled')
  close(lv(modelled, 'facility')?.energyJ as number, (lv(modelled, 'cluster')?.energyJ as number) * 1.3, 0.2)
  const feed = meter({ id: 'site-feed', kind: 'snmp', boundary: 'cluster' })
  const measured = analyzeEnergy(input({ samples: [...samples, ...t('site-feed', 12_100)], meters: [...pdus, feed], boundary: 'cluster' }))
  assert.equal(lv(measured, 'cluster')?.source, 'measured')
  close(measured.power.energyJ as number, 12_100 * 100, 0.001)
  // the racks' sum is the model it is checked against (the test meters claim no error, so 0.8 % shows)
  close(lv(measured, 'cluster')?.crossCheck?.diffRel as number, 100 / 12_000, 0.01)
})
