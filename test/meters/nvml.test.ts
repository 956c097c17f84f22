import assert from 'node:assert/strict'
import { test } from 'node:test'
import { NodeClock } from '../../src/adapters/clock/node-clock.js'
import { createMeter } from '../../src/adapters/meters/index.js'
import { analyzeEnergy } from '../../src/core/analysis/energy/analyze-energy.js'
import { AttributionSchema, MeterSpecSchema } from '../../src/core/config/meters-schema.js'
import { MeterUnavailableError } from '../../src/core/errors.js'
import { buildNvmlStub } from '../../testkit/meters/fake-tools.js'
import { runMeter } from '../../testkit/meters/run-meter.js'
import { energyBetween, parseTrace } from '../../testkit/meters/trace.js'

// The stub is built with the machine's C compiler from testkit/meters/nvml-stub.c; it reads its
// script from process.env at nvmlInit (the library is loaded into this test process).
const stub = buildNvmlStub()
const skip = 'skip' in stub ? stub.skip : false
const STUB_KEYS = ['STUB_NVML_GPUS', 'STUB_NVML_T0_MS', 'STUB_NVML_TRACE', 'STUB_NVML_RESET_AT', 'STUB_NVML_NO_ENERGY', 'STUB_NVML_NO_INSTANT', 'STUB_NVML_INIT_ERROR', 'STUB_NVML_LOST_AT', 'STUB_NVML_LIMIT_MW']

function script(vars: Record<string, string>): void {
  for (const k of STUB_KEYS) delete process.env[k]
  Object.assign(process.env, vars)
}

function nvml(clock: NodeClock, flag: Record<string, unknown> = {}) {
  const spec = MeterSpecSchema.parse({ kind: 'nvml', periodMs: 50, ...flag })
  return createMeter(spec, { env: { TOKENWATT_NVML_LIBRARY: 'path' in stub ? stub.path : '' }, clock })
}

test('nvml: two GPUs, energy within 0.1 % of the scripted trace, keyed by UUID, caps read', { skip }, async () => {
  const clock = new NodeClock()
  // The stub keeps time with CLOCK_REALTIME (Date.now); the run clock's wall anchor can differ from it
  // by milliseconds, so map between the two explicitly.
  const t0 = Date.now()
  const realMinusClockMs = Date.now() - clock.wallMs()
  const trace = '0:250,0.9:700,1.6:420'
  script({ STUB_NVML_GPUS: '2', STUB_NVML_T0_MS: String(t0), STUB_NVML_TRACE: trace, STUB_NVML_LIMIT_MW: '650000' })
  const meter = nvml(clock)
  const run = await runMeter(meter, clock, 2400)
  // window well inside the run, edges away from the steps; trace time = our time since t0
  const win = { startNs: run.startNs + 300e6, endNs: run.endNs - 300e6 }
  const toTrace = (ns: number): number => (clock.epochWallMs + ns / 1e6 + realMinusClockMs - t0) / 1000
  const steps = parseTrace(trace)
  const truth = energyBetween(steps, toTrace(win.startNs), toTrace(win.endNs)) * (1 + 1.1)
  const r = analyzeEnergy({ samples: run.samples, meters: [meter.info], window: win, idleWindow: null, boundary: 'device', attribution: AttributionSchema.parse({}), outputTokens: 1000, inputTokens: 0, durationS: (win.endNs - win.startNs) / 1e9 })
  const e = r.power.energyJ as number
  assert.ok(Math.abs(e - truth) / truth < 0.001, `energy ${e} vs truth ${truth}`)
  assert.equal(r.power.meters[0]?.method, 'counter')
  assert.deepEqual(r.power.meters[0]?.channels, ['GPU-5eb0c0de-0000-4000-8000-000000000000', 'GPU-5eb0c0de-0000-4000-8000-000000000001'])
  assert.deepEqual(meter.info.powerLimitW, { 'GPU-5eb0c0de-0000-4000-8000-000000000000': 650, 'GPU-5eb0c0de-0000-4000-8000-000000000001': 650 })
  assert.equal(meter.info.averagingWindowMs, 0) // instant power field
  assert.ok(run.samples.every((s) => s.energyJ !== null && s.powerW !== null && s.sourceTimeMs !== null))
  // provisioned power from the caps the meter read
  assert.ok(Math.abs((r.efficiency.provisionedW as number) - 1300) < 1e-9)
})

test('nvml: a driver reload mid-run resets the counter; bridged and flagged, the truth inside the interval', { skip }, async () => {
  const clock = new NodeClock()
  const t0 = clock.wallMs()
  script({ STUB_NVML_GPUS: '1', STUB_NVML_T0_MS: String(t0), STUB_NVML_TRACE: '0:400', STUB_NVML_RESET_AT: '1.0' })
  const meter = nvml(clock)
  const run = await runMeter(meter, clock, 2000)
  const win = { startNs: run.startNs + 200e6, endNs: run.endNs - 200e6 }
  const seconds = (win.endNs - win.startNs) / 1e9
  const r = analyzeEnergy({ samples: run.samples, meters: [meter.info], window: win, idleWindow: null, boundary: 'device', attribution: AttributionSchema.parse({}), outputTokens: 1, inputTokens: 0, durationS: seconds })
  const pc = r.power.meters[0]?.perChannel as { resets: number }[]
  assert.equal(pc[0]?.resets, 1)
  const i = r.power.interval
  assert.ok(i && 400 * seconds >= i.low && 400 * seconds <= i.high, `400 W × ${seconds} s outside ${JSON.stringify(i)}`)
  assert.match(r.warnings.join('\n'), /energy counter reset/)
})

test('nvml: no energy counter (consumer GPU) falls back to integrating power; no instant field falls back to the 1-s average', { skip }, async () => {
  const clock = new NodeClock()
  script({ STUB_NVML_GPUS: '1', STUB_NVML_TRACE: '0:300', STUB_NVML_NO_ENERGY: '1', STUB_NVML_NO_INSTANT: '1' })
  const meter = nvml(clock)
  const pre = await meter.preflight()
  assert.match(pre.message, /no energy counter/)
  assert.equal(meter.info.hasCounter, false)
  assert.equal(meter.info.averagingWindowMs, 1000)
  const run = await runMeter(meter, clock, 1500)
  assert.ok(run.samples.length > 5 && run.samples.every((s) => s.energyJ === null && s.powerW !== null))
})

test('nvml: preflight errors are one line with a hint (missing library, driver not loaded, unknown GPU)', { skip }, async () => {
  const clock = new NodeClock()
  const missing = createMeter(MeterSpecSchema.parse({ kind: 'nvml' }), { env: { TOKENWATT_NVML_LIBRARY: '/nonexistent/libnvidia-ml.so.1' }, clock })
  await assert.rejects(missing.preflight(), (e: unknown) => e instanceof MeterUnavailableError && /cannot load \/nonexistent/.test(e.message) && !e.message.includes('\n') && /TOKENWATT_NVML_LIBRARY/.test(e.hint ?? ''))
  script({ STUB_NVML_INIT_ERROR: '9' })
  await assert.rejects(nvml(clock).preflight(), (e: unknown) => e instanceof MeterUnavailableError && /Driver Not Loaded/.test(e.message) && /kernel driver/.test(e.hint ?? ''))
  script({ STUB_NVML_GPUS: '2' })
  await assert.rejects(nvml(clock, { devices: ['GPU-nope'] }).preflight(), (e: unknown) => e instanceof MeterUnavailableError && /no GPU "GPU-nope"/.test(e.message))
  const one = nvml(clock, { devices: ['1'] })
  assert.deepEqual((await one.preflight()).channels, ['GPU-5eb0c0de-0000-4000-8000-000000000001'])
  await one.stop()
})

test('nvml: a GPU that falls off the bus stops producing samples instead of crashing the run', { skip }, async () => {
  const clock = new NodeClock()
  script({ STUB_NVML_GPUS: '1', STUB_NVML_TRACE: '0:300', STUB_NVML_LOST_AT: '0.8' })
  const meter = nvml(clock)
  const run = await runMeter(meter, clock, 1600)
  const last = run.samples[run.samples.length - 1]
  assert.ok(last && last.atNs < run.startNs + 1.0e9, 'samples stop once the GPU is lost')
})
