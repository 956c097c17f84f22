import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { NodeClock } from '../../src/adapters/clock/node-clock.js'
import { PrometheusPowerMeter } from '../../src/adapters/meters/prometheus/prometheus-meter.js'
import { indexSamples, meterEnergy } from '../../src/core/analysis/energy/meter-energy.js'
import { PrometheusMeterSchema } from '../../src/core/config/meters-remote-schema.js'
import { MeterUnavailableError } from '../../src/core/errors.js'
import type { PowerSample } from '../../src/core/records.js'
import { GPUS, prometheusBinary, startAuthProxy, startFakeExporter, startPrometheus, type FakeExporter, type PrometheusServer } from './prometheus-fake.js'
import { sawtooth, wallMs, type Trace } from './redfish-fake.js'

// A real Prometheus server is the point of this file. Without the binary it cannot run: say so loudly.
const BINARY = prometheusBinary()
const SKIP = BINARY === null ? 'SKIPPED: the `prometheus` binary is not on PATH — install the Debian package: apt-get install -y prometheus' : false
if (SKIP) process.stderr.write(`\n*** test/meters/prometheus.test.ts ${SKIP} ***\n\n`)

let exporter: FakeExporter
let prom: PrometheusServer
let trace: Trace
const ENERGY_OFFSET_MJ = 48_123_456_789

before(async () => {
  if (BINARY === null) return
  const originMs = wallMs()
  trace = sawtooth(originMs)
  exporter = await startFakeExporter(trace, originMs, ENERGY_OFFSET_MJ)
  prom = await startPrometheus(BINARY, exporter.port)
})
after(async () => {
  await prom?.close()
  await exporter?.close()
})

function meter(options: Record<string, unknown>, clock = new NodeClock(), env: Record<string, string> = {}): PrometheusPowerMeter {
  return new PrometheusPowerMeter(PrometheusMeterSchema.parse({ kind: 'prometheus', url: prom.url, periodMs: 500, settleMaxMs: 3000, ...options }), { clock, env, id: 'prom' })
}

async function rejection(p: Promise<unknown>): Promise<MeterUnavailableError> {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof MeterUnavailableError, `expected MeterUnavailableError, got ${String(err)}`)
    return err
  }
  assert.fail('expected the preflight to fail')
}

test('dcgm preset through a real Prometheus: raw scrape samples, mJ counter → J within 0.1 %, a driver-reload reset handled', { skip: SKIP }, async () => {
  const clock = new NodeClock()
  const m = meter({ preset: 'dcgm', selector: '{Hostname="gpu-node-01"}' }, clock)
  const pre = await m.preflight()
  assert.deepEqual(pre.channels, GPUS.map((g) => g.uuid).sort())
  assert.equal(m.info.hasCounter, true)
  assert.equal(m.info.boundary, 'device')
  assert.equal(m.info.averagingWindowMs, 1000)
  const samples: PowerSample[] = []
  const startedAt = clock.nowNs()
  await m.start((s) => samples.push(s))
  await new Promise((r) => setTimeout(r, 1200))
  exporter.resetGpu1At = wallMs()
  await new Promise((r) => setTimeout(r, 1600))
  const stoppedAt = clock.nowNs()
  await m.stop()

  const offset = m.clockOffset()
  assert.ok(offset !== null && Math.abs(offset.offsetMs) <= offset.uncertaintyMs + 2 && offset.uncertaintyMs < 50, `same host: offset ${JSON.stringify(offset)}`)
  assert.ok(m.info.periodMs >= 150 && m.info.periodMs <= 300, `the scrape interval (${m.info.periodMs} ms) is seen in the raw samples`)
  const byGpu = (uuid: string): PowerSample[] => samples.filter((s) => s.channel === uuid)
  for (const g of GPUS) {
    const list = byGpu(g.uuid)
    assert.ok(list.length >= 8, `${list.length} raw samples for GPU ${g.index} (about 14 scrapes; a loaded machine skips some)`)
    assert.ok(list.every((s) => s.powerW !== null && s.energyJ !== null && s.sourceTimeMs !== null), 'power and energy of one scrape arrive as one sample')
    assert.ok(list[0]!.atNs < startedAt, 'the first sample precedes the start (the window is bracketed)')
    assert.ok(list[list.length - 1]!.atNs > stoppedAt, 'stop waited for the scrape after it')
  }

  // GPU 0: between two raw samples, the mJ counter in J equals the trace's energy between the
  // exporter's two scrapes (0.1 %).
  const g0 = byGpu(GPUS[0].uuid)
  const a = g0[2]!
  const b = g0[g0.length - 3]!
  const index = indexSamples(samples).get('prom')
  const r0 = meterEnergy(m.info, index, { startNs: a.atNs, endNs: b.atNs }).channels.find((c) => c.channel === GPUS[0].uuid)!
  assert.equal(r0.method, 'counter')
  const scrapeOf = (s: PowerSample): number => exporter.scrapes.find((x) => x.values.get('energy:0') === Math.round(s.energyJ! * 1000))!.wallMs
  const exactJ = trace.energyJ(scrapeOf(a), scrapeOf(b)) * GPUS[0].share
  assert.ok(Math.abs(r0.energyJ - exactJ) / exactJ < 0.001, `GPU 0: ${r0.energyJ} J vs trace ${exactJ} J`)
  // Placement: a sample's time is Prometheus' scrape start, mapped onto our clock; the exporter
  // answered just after it (milliseconds; more on a loaded machine), never seconds off.
  const lagsMs = g0.map((s) => scrapeOf(s) - (clock.epochWallMs + s.atNs / 1e6)).sort((x, y) => x - y)
  const medianLag = lagsMs[lagsMs.length >> 1]!
  assert.ok(medianLag > -5 && medianLag < 100, `median lag from scrape start to the exporter's answer: ${medianLag.toFixed(1)} ms`)

  // GPU 1: its counter restarted from 0 mid-run; the analysis sees the drop as a reset, not a wrap.
  const g1 = byGpu(GPUS[1].uuid)
  assert.ok(g1.some((s, i) => i > 0 && s.energyJ! < g1[i - 1]!.energyJ!), 'the raw counter dropped')
  const win = { startNs: g1[2]!.atNs, endNs: g1[g1.length - 3]!.atNs }
  const r1 = meterEnergy(m.info, index, win).channels.find((c) => c.channel === GPUS[1].uuid)!
  assert.equal(r1.resets, 1)
  const trueJ = trace.energyJ(clock.epochWallMs + win.startNs / 1e6, clock.epochWallMs + win.endNs / 1e6) * GPUS[1].share
  assert.ok(Math.abs(r1.energyJ - trueJ) <= r1.halfWidthJ, `GPU 1 across the reset: ${r1.energyJ} J vs ${trueJ} J ± ${r1.halfWidthJ} J`)
})

test('Kepler (package zone per socket, J) and Scaphandre (µW, µJ): units and channel names', { skip: SKIP }, async () => {
  const kepler = meter({ preset: 'kepler' })
  const pre = await kepler.preflight()
  assert.deepEqual(pre.channels, ['package-0', 'package-1'], 'one zone only: package and dram overlap')
  assert.equal(kepler.info.component, 'cpu')
  const ks: PowerSample[] = []
  await kepler.start((s) => ks.push(s))
  await new Promise((r) => setTimeout(r, 700))
  await kepler.stop()
  assert.ok(ks.filter((s) => s.channel === 'package-0').every((s) => s.powerW === 100))
  const k0 = ks.filter((s) => s.channel === 'package-0')
  const rate = (k0[k0.length - 1]!.energyJ! - k0[0]!.energyJ!) / ((k0[k0.length - 1]!.sourceTimeMs! - k0[0]!.sourceTimeMs!) / 1000)
  assert.ok(Math.abs(rate - 100) < 2, `package-0 counter rises at ${rate} W`)

  const scaph = meter({ preset: 'scaphandre' })
  assert.deepEqual((await scaph.preflight()).channels, ['node'])
  const ss: PowerSample[] = []
  await scaph.start((s) => ss.push(s))
  await new Promise((r) => setTimeout(r, 500))
  await scaph.stop()
  assert.ok(ss.length >= 2 && ss.every((s) => s.powerW === 250), 'µW → W')
  const srate = (ss[ss.length - 1]!.energyJ! - ss[0]!.energyJ!) / ((ss[ss.length - 1]!.sourceTimeMs! - ss[0]!.sourceTimeMs!) / 1000)
  assert.ok(Math.abs(srate - 250) < 5, `µJ → J: ${srate} W`)
})

test('a custom expression with a unit is evaluated every period over the window (query_range)', { skip: SKIP }, async () => {
  const clock = new NodeClock()
  const m = meter({ preset: 'custom', power: { query: 'sum(DCGM_FI_DEV_POWER_USAGE) * 1000', unit: 'mW' }, periodMs: 250 }, clock)
  const pre = await m.preflight()
  assert.match(pre.message, /is an expression, evaluated every 250 ms/)
  assert.equal(m.info.hasCounter, false)
  const samples: PowerSample[] = []
  await m.start((s) => samples.push(s))
  await new Promise((r) => setTimeout(r, 1200))
  await m.stop()
  const inRun = samples.filter((s) => s.atNs > 0)
  assert.ok(inRun.length >= 4, `${inRun.length} evaluated points`)
  for (const s of inRun) {
    // The value at a step is the last scrape at or before it (≤ 200 ms old): within the trace's range then.
    assert.ok(s.powerW! >= 499 && s.powerW! <= 901, `${s.powerW} W is the sum of both GPUs`)
  }
})

test('auth: 401 without the bearer token is a clear preflight error; with it the meter works; the token is never printed', { skip: SKIP }, async () => {
  const proxy = await startAuthProxy(prom.port, 'tok-123456')
  try {
    const anonymous = new PrometheusPowerMeter(PrometheusMeterSchema.parse({ kind: 'prometheus', url: proxy.url }), { clock: new NodeClock(), env: {} })
    const err = await rejection(anonymous.preflight())
    assert.match(err.message, /credentials were rejected \(HTTP 401/)
    assert.match(err.hint ?? '', /bearerTokenEnv/)

    const wrong = new PrometheusPowerMeter(PrometheusMeterSchema.parse({ kind: 'prometheus', url: proxy.url, bearerTokenEnv: 'PROM_TOKEN' }), { clock: new NodeClock(), env: { PROM_TOKEN: 'tok-wrong' } })
    const e2 = await rejection(wrong.preflight())
    assert.ok(!`${e2.message} ${e2.hint}`.includes('tok-wrong'))

    const good = new PrometheusPowerMeter(PrometheusMeterSchema.parse({ kind: 'prometheus', url: proxy.url, bearerTokenEnv: 'PROM_TOKEN' }), { clock: new NodeClock(), env: { PROM_TOKEN: 'tok-123456' } })
    assert.equal((await good.preflight()).channels.length, 2)
    await good.stop()
  } finally {
    await proxy.close()
  }
})

test('a target whose last scrape failed still passes preflight: Prometheus marked its series stale, its raw samples of the last two minutes say they exist', { skip: SKIP }, async () => {
  exporter.failing = true
  try {
    const deadline = Date.now() + 10_000
    while ((await prom.query('up{job="dcgm"}'))[0]?.value[1] !== '0') {
      assert.ok(Date.now() < deadline, 'Prometheus never saw the exporter down')
      await new Promise((r) => setTimeout(r, 100))
    }
    // the instant query now returns no series at all: the staleness markers
    assert.equal((await prom.query('DCGM_FI_DEV_POWER_USAGE')).length, 0)
    const pre = await meter({ preset: 'dcgm', selector: '{Hostname="gpu-node-01"}' }).preflight()
    assert.equal(pre.ok, true)
    assert.equal(pre.channels.length, 2)
  } finally {
    exporter.failing = false
  }
})

test('no matching series names the presets this server has; bad PromQL is reported with the server\'s message', { skip: SKIP }, async () => {
  const none = await rejection(meter({ preset: 'kepler-gpu' }).preflight())
  assert.match(none.message, /kepler_node_gpu_joules_total and kepler_node_gpu_watts returned no series/)
  assert.match(none.hint ?? '', /preset dcgm \/ kepler \/ scaphandre/)
  const filtered = await rejection(meter({ preset: 'dcgm', selector: '{Hostname="other-node"}' }).preflight())
  assert.match(filtered.hint ?? '', /the selector \{Hostname="other-node"\} matches nothing/)
  const bad = await rejection(meter({ preset: 'custom', power: { query: 'sum(DCGM_FI_DEV_POWER_USAGE', unit: 'W' } }).preflight())
  assert.match(bad.message, /the query failed \(HTTP 400 bad_data: .*parse error/)
})
