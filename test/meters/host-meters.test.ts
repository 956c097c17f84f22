import assert from 'node:assert/strict'
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { Worker } from 'node:worker_threads'
import { NodeClock } from '../../src/adapters/clock/node-clock.js'
import { PowerLogParser } from '../../src/adapters/meters/file/power-log.js'
import { createMeter, createMeters } from '../../src/adapters/meters/index.js'
import { discoverZones, selectZones } from '../../src/adapters/meters/rapl/powercap.js'
import { analyzeEnergy } from '../../src/core/analysis/energy/analyze-energy.js'
import { AttributionSchema, MeterSpecSchema } from '../../src/core/config/meters-schema.js'
import { MeterUnavailableError } from '../../src/core/errors.js'
import type { MeterInfo } from '../../src/core/ports.js'
import type { PowerSample } from '../../src/core/records.js'
import { startMockServer } from '../../src/engines/mock/index.js'
import { runMeter } from '../../testkit/meters/run-meter.js'

function energy(samples: PowerSample[], infos: MeterInfo[], win: { startNs: number; endNs: number }, boundary: 'device' | 'node' = 'node') {
  return analyzeEnergy({ samples, meters: infos, window: win, idleWindow: null, boundary, attribution: AttributionSchema.parse({}), outputTokens: 1, inputTokens: 0, durationS: (win.endNs - win.startNs) / 1e9 })
}

/** A temporary powercap tree: two sockets, each with core and dram subzones, plus psys and an MMIO duplicate. */
function powercapTree(rangeUj: number) {
  const root = mkdtempSync(join(tmpdir(), 'tokenwatt-powercap-'))
  const zone = (dir: string, name: string, uj: number, range = rangeUj) => {
    mkdirSync(join(root, dir), { recursive: true })
    writeFileSync(join(root, dir, 'name'), `${name}\n`)
    writeFileSync(join(root, dir, 'energy_uj'), `${uj}\n`)
    writeFileSync(join(root, dir, 'max_energy_range_uj'), `${range}\n`)
  }
  zone('intel-rapl:0', 'package-0', rangeUj - 2_000_000)
  zone('intel-rapl:0:0', 'core', 10)
  zone('intel-rapl:0:1', 'dram', 20, 65_712_999_613)
  zone('intel-rapl:1', 'package-1', 1000)
  zone('intel-rapl:1:0', 'dram', 30, 65_712_999_613)
  zone('intel-rapl:2', 'psys', 40)
  zone('intel-rapl-mmio:0', 'package-0', 50)
  return { root, set: (dir: string, uj: number) => writeFileSync(join(root, dir, 'energy_uj'), `${uj}\n`) }
}

test('rapl: zones by name, dram beside its package, subzones nested, MMIO duplicate dropped, psys containing the rest', () => {
  const { root } = powercapTree(262_143_328_850)
  try {
    const all = discoverZones(root)
    assert.deepEqual(all.map((z) => z.channel), ['package-0', 'package-0/core', 'dram-0', 'package-1', 'dram-1', 'psys'])
    assert.deepEqual(selectZones(all, undefined).zones.map((z) => z.channel), ['package-0', 'dram-0', 'package-1', 'dram-1'])
    assert.deepEqual(selectZones(all, ['dram']).zones.map((z) => z.channel), ['dram-0', 'dram-1'])
    assert.deepEqual(selectZones(all, ['psys', 'package']).zones.map((z) => z.channel), ['psys/package-0', 'psys/package-1', 'psys'])
    assert.deepEqual(selectZones(all, ['gpu']).unknown, ['gpu'])
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

test('rapl: counters that wrap at max_energy_range_uj give the exact energy; RAPL at node is a CPU+DRAM component', async () => {
  const range = 262_143_328_850
  const tree = powercapTree(range)
  const clock = new NodeClock()
  try {
    const meter = createMeter(MeterSpecSchema.parse({ kind: 'rapl', root: tree.root, zones: ['package-0', 'dram-0'], periodMs: 20 }), { env: {}, clock })
    await meter.preflight()
    assert.equal(meter.info.component, 'cpu+dram')
    assert.equal(meter.info.counterModulusJ?.['package-0'], range / 1e6)
    // drive the counters from a writer: package-0 at 150 W (wrapping), dram-0 at 12 W, for 1.2 s
    const samples: PowerSample[] = []
    const start = clock.nowNs()
    let pkg = range - 2_000_000 // 2 J below the wrap
    let dram = 20
    let last = start
    const writer = setInterval(() => {
      const now = clock.nowNs()
      const dt = (now - last) / 1e9
      last = now
      pkg = (pkg + Math.round(150 * dt * 1e6)) % range
      dram += Math.round(12 * dt * 1e6)
      tree.set('intel-rapl:0', pkg)
      tree.set('intel-rapl:0:1', dram)
    }, 5)
    await meter.start((s) => samples.push(s))
    await clock.sleepUntil(start + 1.2e9)
    clearInterval(writer)
    await meter.stop()
    // the truth is what the writer wrote: the counters' total advance, read at the first and last sample
    const pkgSamples = samples.filter((s) => s.channel === 'package-0')
    const firstS = pkgSamples[0] as PowerSample
    const lastS = pkgSamples[pkgSamples.length - 1] as PowerSample
    const wrapped = (lastS.energyJ as number) < (firstS.energyJ as number)
    assert.ok(wrapped, 'the package counter should have wrapped during the run')
    const truthPkg = (lastS.energyJ as number) + range / 1e6 - (firstS.energyJ as number)
    const win = { startNs: firstS.atNs, endNs: lastS.atNs }
    const r = energy(samples, [meter.info], win)
    const pc = r.power.meters[0]?.perChannel as { channel: string; energyJ: number; wraps: number }[]
    const p0 = pc.find((c) => c.channel === 'package-0')
    assert.equal(p0?.wraps, 1)
    assert.ok(Math.abs((p0?.energyJ) - truthPkg) / truthPkg < 0.001, `${p0?.energyJ} vs ${truthPkg}`)
    // a component: the node is modelled from it (no device meter), never reported as the node itself
    assert.equal(r.power.meters[0]?.role, 'component')
    assert.match(r.power.measured.join(), /node CPU\+DRAM: rapl/)
  } finally {
    rmSync(tree.root, { recursive: true, force: true })
  }
})

test('rapl: preflight explains the root-only energy_uj (CVE-2020-8694) and a missing tree', async () => {
  const tree = powercapTree(262_143_328_850)
  const clock = new NodeClock()
  try {
    const none = createMeter(MeterSpecSchema.parse({ kind: 'rapl', root: join(tree.root, 'absent') }), { env: {}, clock })
    await assert.rejects(none.preflight(), (e: unknown) => e instanceof MeterUnavailableError && /no powercap zones/.test(e.message) && /modprobe intel_rapl_msr/.test(e.hint ?? ''))
    // a file that cannot be read: tests run as root, where mode 0400 does not stop us, so make
    // energy_uj a directory (EISDIR) for the generic path, and check EACCES wording when not root
    chmodSync(join(tree.root, 'intel-rapl:0', 'energy_uj'), 0o000)
    const meter = createMeter(MeterSpecSchema.parse({ kind: 'rapl', root: tree.root }), { env: {}, clock })
    if (process.getuid?.() === 0) {
      await meter.preflight() // root reads it anyway, as on a real machine
      rmSync(join(tree.root, 'intel-rapl:0', 'energy_uj'))
      mkdirSync(join(tree.root, 'intel-rapl:0', 'energy_uj'))
      await assert.rejects(createMeter(MeterSpecSchema.parse({ kind: 'rapl', root: tree.root }), { env: {}, clock }).preflight(), (e: unknown) => e instanceof MeterUnavailableError && /cannot read .*energy_uj/.test(e.message))
    } else {
      await assert.rejects(meter.preflight(), (e: unknown) => e instanceof MeterUnavailableError && /readable only by root .*CVE-2020-8694/.test(e.message) && /chmod 0444/.test(e.hint ?? ''))
    }
  } finally {
    rmSync(tree.root, { recursive: true, force: true })
  }
})

test('file: CSV and JSONL logs, time as epoch s/ms or ISO 8601, watts or cumulative J/Wh/kWh, columns by name', () => {
  const rows = (format: 'auto' | 'csv' | 'jsonl', text: string, opts: object = {}) => new PowerLogParser(format, { timeUnit: 'auto', ...opts }).push(text, true)
  assert.deepEqual(rows('auto', 'timestamp,power_w\n1700000000.5,250.5\n1700000001.5,251\n'), [
    { timeMs: 1700000000500, channel: null, powerW: 250.5, energyJ: null },
    { timeMs: 1700000001500, channel: null, powerW: 251, energyJ: null },
  ])
  assert.deepEqual(rows('auto', 'Time;Energy (Wh)\n2026-01-01T00:00:00Z;1.5\n'), [{ timeMs: Date.parse('2026-01-01T00:00:00Z'), channel: null, powerW: null, energyJ: 5400 }])
  assert.deepEqual(rows('auto', 'ts,kWh,outlet\n1700000000000,0.001,A1\n'), [{ timeMs: 1700000000000, channel: 'A1', powerW: null, energyJ: 3600 }])
  assert.deepEqual(rows('auto', '{"time":"2026-01-01 00:00:01.250Z","watts":300}\n{"time":"bad","watts":1}\n'), [{ timeMs: Date.parse('2026-01-01T00:00:01.250Z'), channel: null, powerW: 300, energyJ: null }])
  assert.deepEqual(rows('csv', 'clock,reading\n1700000000,12\n', { timeColumn: 'clock', energyColumn: 'reading', energyUnit: 'kWh' })[0]?.energyJ, 43_200_000)
  const p = new PowerLogParser('auto', { timeUnit: 'auto' })
  p.push('t,watts\n12.5,100\n', true)
  assert.match(p.firstProblem ?? '', /not an epoch time/)
  assert.throws(() => rows('auto', 'when,volts\n1,2\n'), /no time column|no power or energy column/)
})

test('file: a log written during the run is read as it grows and integrates to its own energy', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatt-log-'))
  const path = join(dir, 'power.csv')
  const clock = new NodeClock()
  try {
    writeFileSync(path, 'timestamp,power_w\n')
    const meter = createMeter(MeterSpecSchema.parse({ kind: 'file', path, periodMs: 200 }), { env: {}, clock })
    await meter.preflight()
    const samples: PowerSample[] = []
    const startNs = clock.nowNs()
    await meter.start((s) => samples.push(s))
    // a logger at 20 Hz: 400 W, then 900 W after 0.8 s (epoch seconds with ms)
    const t0 = Date.now()
    const writer = setInterval(() => {
      const now = Date.now()
      appendFileSync(path, `${(now / 1000).toFixed(3)},${now - t0 < 800 ? 400 : 900}\n`)
    }, 50)
    await clock.sleepUntil(startNs + 1.8e9)
    clearInterval(writer)
    const endNs = clock.nowNs()
    await meter.stop()
    assert.ok(samples.length > 20)
    assert.ok(meter.info.periodMs >= 45 && meter.info.periodMs <= 70, `detected period ${meter.info.periodMs}`) // the logger's 50 ms, as timers jitter
    const ts = samples.map((s) => s.atNs)
    const win = { startNs: Math.min(...ts) + 100e6, endNs: Math.max(...ts) - 100e6 }
    assert.ok(win.endNs <= endNs + 50e6)
    const r = energy(samples, [meter.info], win)
    // the step from 400 to 900 W happened between the last 400 W row and the first 900 W row:
    // the true energy lies between the two extremes, and both must be inside the reported interval
    const last400 = Math.max(...samples.filter((s) => s.powerW === 400).map((s) => s.atNs))
    const first900 = Math.min(...samples.filter((s) => s.powerW === 900).map((s) => s.atNs))
    const e = (stepNs: number) => (400 * (stepNs - win.startNs) + 900 * (win.endNs - stepNs)) / 1e9
    const i = r.power.interval
    assert.ok(i && e(last400) >= i.low && e(last400) <= i.high && e(first900) >= i.low && e(first900) <= i.high, `${e(last400)}..${e(first900)} vs ${JSON.stringify(i)}`)
    assert.ok((i.high - i.low) / (r.power.energyJ as number) < 0.1, `interval too wide ${JSON.stringify(i)}`)
    assert.equal(r.power.meters[0]?.clockOffsetMs, null) // no wall anchor passed
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('file: a recorded cumulative-energy log (JSONL, Wh) gives the counter difference; a missing file is a one-line preflight error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatt-log-'))
  const path = join(dir, 'meter.jsonl')
  const clock = new NodeClock()
  try {
    // recorded before the run: 1 Hz readings of a 3.6 kW load (1 Wh per second) over the next 10 s
    const now = Date.now()
    let text = ''
    for (let k = 0; k <= 10; k++) text += `${JSON.stringify({ timestamp: new Date(now + k * 1000).toISOString(), energy_wh: 100 + k })}\n`
    writeFileSync(path, text)
    const meter = createMeter(MeterSpecSchema.parse({ kind: 'file', path }), { env: {}, clock })
    const pre = await meter.preflight()
    assert.match(pre.message, /energy=energy_wh/)
    const run = await runMeter(meter, clock, 300)
    assert.equal(run.samples.length, 11)
    assert.equal(meter.info.hasCounter, true)
    const a = run.samples[2] as PowerSample
    const b = run.samples[9] as PowerSample
    const r = energy(run.samples, [meter.info], { startNs: a.atNs, endNs: b.atNs })
    assert.ok(Math.abs((r.power.energyJ as number) - 7 * 3600) < 1e-6)
    await assert.rejects(createMeter(MeterSpecSchema.parse({ kind: 'file', path: join(dir, 'nope.csv') }), { env: {}, clock }).preflight(), (e: unknown) => e instanceof MeterUnavailableError && /no such file/.test(e.message) && /start the logger/.test(e.hint ?? ''))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('estimate: CPU time × the declared profile, always labelled an estimate; busy CPU raises it', async () => {
  const clock = new NodeClock()
  const meter = createMeter(MeterSpecSchema.parse({ kind: 'estimate', idleW: 50, maxW: 250, pid: 'self', cores: 1, periodMs: 100 }), { env: {}, clock })
  assert.equal(meter.info.estimated, true)
  await meter.preflight()
  const samples: PowerSample[] = []
  const startNs = clock.nowNs()
  await meter.start((s) => samples.push(s))
  await clock.sleepUntil(startNs + 600e6) // idle
  // a worker thread of this process keeps one core busy; the event loop stays free to sample
  const busyFrom = clock.nowNs()
  const worker = new Worker('const end = Date.now() + 700; while (Date.now() < end) Math.sqrt(Math.random())', { eval: true })
  await new Promise((resolve) => worker.once('exit', resolve))
  const busyUntil = clock.nowNs()
  await clock.sleepUntil(busyUntil + 150e6)
  await meter.stop()
  const watts = samples.map((s) => s.powerW as number)
  assert.ok(watts.every((w) => w >= 50 && w <= 250))
  // on a shared machine the worker may not get a whole core: compare the phases, not absolutes
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
  const idle = mean(samples.slice(1).filter((s) => s.atNs < busyFrom - 60e6).map((s) => s.powerW as number))
  const busy = mean(samples.filter((s) => s.atNs > busyFrom + 100e6 && s.atNs < busyUntil - 60e6).map((s) => s.powerW as number))
  // (with a load average of 9 on 2 cores a thread gets ~20 % of a core: 200 W × 0.2 = 40 W above idle)
  assert.ok(busy > idle + 15, `busy ${busy} W vs idle ${idle} W: ${watts.map((w) => w.toFixed(0)).join(', ')}`)
  const r = energy(samples, [meter.info], { startNs: startNs + 100e6, endNs: busyUntil })
  assert.equal(r.power.source, 'modeled')
  assert.equal(r.power.meters[0]?.measured, false)
  await assert.rejects(createMeter(MeterSpecSchema.parse({ kind: 'estimate', idleW: 1, maxW: 2, pid: 999_999_999 }), { env: {}, clock }).preflight(), /cannot read the CPU time of pid 999999999/)
})

test('mock: polls the mock engine; the counter matches the engine’s own trace exactly', async () => {
  const clock = new NodeClock()
  const mock = await startMockServer({ port: 0, clock, power: { idleW: 120, perStreamW: 10, maxW: 700 } })
  try {
    const [meter] = createMeters([MeterSpecSchema.parse({ kind: 'mock', periodMs: 50 })], { env: {}, clock, mockBaseUrl: mock.baseUrl })
    assert.ok(meter)
    const run = await runMeter(meter, clock, 800)
    const first = run.samples[0] as PowerSample
    const last = run.samples[run.samples.length - 1] as PowerSample
    const r = energy(run.samples, [meter.info], { startNs: first.atNs, endNs: last.atNs }, 'device')
    const truth = (last.energyJ as number) - (first.energyJ as number)
    assert.ok(Math.abs((r.power.energyJ as number) - truth) < 1e-6)
    // idle engine: every reading is its 120 W (the average over our window depends on request latency, not checked)
    assert.ok(run.samples.every((x) => x.powerW === 120))
    const none = createMeter(MeterSpecSchema.parse({ kind: 'mock' }), { env: {}, clock })
    await assert.rejects(none.preflight(), (e: unknown) => e instanceof MeterUnavailableError && /no mock engine/.test(e.message))
  } finally {
    await mock.close()
  }
})
