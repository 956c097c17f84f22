import assert from 'node:assert/strict'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { NodeClock } from '../../src/adapters/clock/node-clock.js'
import { parseFreeipmiReading, parseIpmitoolReading } from '../../src/adapters/meters/ipmi/dcmi-output.js'
import { createMeter } from '../../src/adapters/meters/index.js'
import { JsonStreamSplitter, readAmdJson } from '../../src/adapters/meters/amd-smi/amd-smi-output.js'
import { parseSmiLine } from '../../src/adapters/meters/nvidia-smi/nvidia-smi-meter.js'
import { analyzeEnergy } from '../../src/core/analysis/energy/analyze-energy.js'
import { AttributionSchema, MeterSpecSchema } from '../../src/core/config/meters-schema.js'
import { MeterUnavailableError } from '../../src/core/errors.js'
import type { MeterInfo } from '../../src/core/ports.js'
import type { PowerSample } from '../../src/core/records.js'
import { fakeToolsEnv } from '../../testkit/meters/fake-tools.js'
import { runMeter } from '../../testkit/meters/run-meter.js'
import { energyBetween, parseTrace } from '../../testkit/meters/trace.js'

function energy(samples: PowerSample[], info: MeterInfo, win: { startNs: number; endNs: number }) {
  return analyzeEnergy({ samples, meters: [info], window: win, idleWindow: null, boundary: info.boundary, attribution: AttributionSchema.parse({}), outputTokens: 1, inputTokens: 0, durationS: (win.endNs - win.startNs) / 1e9 })
}

/** Maps run-clock ns to the fakes' trace time (they keep time with Date.now from FAKE_T0_MS). */
function traceClock(clock: NodeClock) {
  const t0 = Date.now()
  const realMinusClockMs = Date.now() - clock.wallMs()
  return { t0, at: (ns: number): number => (clock.epochWallMs + ns / 1e6 + realMinusClockMs - t0) / 1000 }
}

test('nvidia-smi: real CSV lines, [N/A] and [Not Supported] cells, headers and warnings are not readings', () => {
  const row = parseSmiLine('2025/06/12 14:03:07.412, GPU-4d3c1e2a-7b1f-9c0d-55aa-0123456789ab, NVIDIA H100 80GB HBM3, 538.91, 700.00')
  assert.equal(row?.powerW, 538.91)
  assert.equal(row?.limitW, 700)
  assert.equal(row?.timeMs, new Date(2025, 5, 12, 14, 3, 7, 412).getTime())
  assert.equal(parseSmiLine('2025/06/12 14:03:07.412, GPU-x, NVIDIA A100, [N/A], [Not Supported]')?.powerW, null)
  assert.equal(parseSmiLine('timestamp, uuid, name, power.draw.instant [W], enforced.power.limit [W]'), null)
  assert.equal(parseSmiLine('Field "power.draw.instant" is not a valid field to query.'), null)
})

test('nvidia-smi: the -lms loop integrates to the trace within the reported interval; [N/A] GPU skipped', async () => {
  const clock = new NodeClock()
  const tc = traceClock(clock)
  const trace = '0:300,1.2:650'
  const { env, binDir } = fakeToolsEnv({ FAKE_T0_MS: String(tc.t0), FAKE_TRACE: trace, FAKE_SMI_GPUS: '2', FAKE_SMI_MODE: 'na' })
  try {
    const meter = createMeter(MeterSpecSchema.parse({ kind: 'nvidia-smi', periodMs: 100 }), { env, clock })
    const pre = await meter.preflight()
    assert.match(pre.message, /\[N\/A\] on GPU-5eb0c0de-0000-4000-8000-000000000001/)
    const run = await runMeter(meter, clock, 2600)
    assert.equal(meter.info.averagingWindowMs, 0)
    assert.equal(meter.info.powerLimitW?.['GPU-5eb0c0de-0000-4000-8000-000000000000'], 700)
    const win = { startNs: run.startNs + 500e6, endNs: run.endNs - 300e6 }
    const truth = energyBetween(parseTrace(trace), tc.at(win.startNs), tc.at(win.endNs))
    const r = energy(run.samples, meter.info, win)
    const i = r.power.interval
    assert.ok(i && truth >= i.low && truth <= i.high, `truth ${truth} outside ${JSON.stringify(i)} (estimate ${r.power.energyJ})`)
    assert.ok(Math.abs((r.power.energyJ as number) - truth) / truth < 0.03, `estimate ${r.power.energyJ} vs ${truth}`)
    assert.deepEqual(r.power.meters[0]?.channels, ['GPU-5eb0c0de-0000-4000-8000-000000000000'])
  } finally {
    rmSync(binDir, { recursive: true, force: true })
  }
})

test('nvidia-smi: old drivers without power.draw.instant fall back to the 1-s average (shifted by half a second)', async () => {
  const clock = new NodeClock()
  const { env, binDir } = fakeToolsEnv({ FAKE_TRACE: '0:400', FAKE_SMI_MODE: 'old' })
  try {
    const meter = createMeter(MeterSpecSchema.parse({ kind: 'nvidia-smi' }), { env, clock })
    const pre = await meter.preflight()
    assert.match(pre.message, /power\.draw \(fallback/)
    assert.equal(meter.info.averagingWindowMs, 1000)
  } finally {
    rmSync(binDir, { recursive: true, force: true })
  }
})

test('nvidia-smi: preflight explains a missing binary, an unloaded driver, unknown GPU ids', async () => {
  const clock = new NodeClock()
  const { env, binDir } = fakeToolsEnv({ FAKE_SMI_MODE: 'nodriver' })
  try {
    const spec = (o: object) => MeterSpecSchema.parse({ kind: 'nvidia-smi', ...o })
    await assert.rejects(createMeter(spec({ binary: join(binDir, 'absent') }), { env, clock }).preflight(), (e: unknown) => e instanceof MeterUnavailableError && /not found on PATH/.test(e.message))
    await assert.rejects(createMeter(spec({}), { env, clock }).preflight(), (e: unknown) => e instanceof MeterUnavailableError && /couldn't communicate with the NVIDIA driver/.test(e.message) && /driver is not loaded/.test(e.hint ?? ''))
    const env2 = { ...env, FAKE_SMI_MODE: '' }
    await assert.rejects(createMeter(spec({ devices: ['7'] }), { env: env2, clock }).preflight(), (e: unknown) => e instanceof MeterUnavailableError && /No devices were found/.test(e.message))
  } finally {
    rmSync(binDir, { recursive: true, force: true })
  }
})

test('amd-smi: both JSON shapes, library keys, N/A entries and a stream of watch-mode documents', () => {
  const gpuData = { gpu_data: [{ gpu: 0, power: { socket_power: { value: 712, unit: 'W' } }, energy: { total_energy_consumption: { value: 71263443.99, unit: 'J' } } }] }
  assert.deepEqual(readAmdJson(gpuData), [{ gpu: 0, powerW: 712, energyJ: 71263443.99 }])
  const array = [{ gpu: 1, power: { average_socket_power: 94, current_socket_power: 'N/A' }, energy: { power: 65628, counter_resolution: 15.3 } }]
  const [lib] = readAmdJson(array)
  assert.equal(lib?.powerW, 94)
  assert.ok(Math.abs((lib?.energyJ as number) - 1.0041084) < 1e-6) // 65628 × 15.3 µJ = 1004108.4 µJ (ROCm/amdsmi#38)
  assert.deepEqual(readAmdJson([{ gpu: 2, power: { socket_power: 'N/A' }, energy: { total_energy_consumption: 'N/A' } }]), [{ gpu: 2, powerW: null, energyJ: null }])
  const split = new JsonStreamSplitter()
  const text = `${JSON.stringify(gpuData, null, 2)}\nWATCH 2026-01-01 00:00:01\n${JSON.stringify(array)}`
  const docs = [...split.push(text.slice(0, 37)), ...split.push(text.slice(37))]
  assert.equal(docs.length, 2)
})

// the four shapes wait on 1-s ticks: run them side by side
describe('amd-smi watch loop', () => {
  for (const shape of ['gpu_data', 'array', 'text', 'library'] as const) {
    test(`amd-smi (${shape}): the energy counter is read exactly, in joules, keyed amdgpu-N; N/A partitions skipped`, async () => {
      const clock = new NodeClock()
      const tc = traceClock(clock)
      const trace = '0:500,1.5:800'
      const { env, binDir } = fakeToolsEnv({ FAKE_T0_MS: String(tc.t0), FAKE_TRACE: trace, FAKE_AMD_SHAPE: shape, FAKE_AMD_GPUS: '2', FAKE_AMD_NA_GPU: '1' })
      try {
        const meter = createMeter(MeterSpecSchema.parse({ kind: 'amd-smi', periodMs: 1000 }), { env, clock })
        const run = await runMeter(meter, clock, 3300)
        assert.deepEqual(meter.info.hasCounter, true)
        assert.ok(run.samples.length >= 2, `only ${run.samples.length} readings`)
        assert.ok(run.samples.every((x) => x.channel === 'amdgpu-0'))
        // the counter difference between the first and last reading is what the CLI printed, exactly
        const first = run.samples[0] as PowerSample
        const last = run.samples[run.samples.length - 1] as PowerSample
        const r = energy(run.samples, meter.info, { startNs: first.atNs, endNs: last.atNs })
        const printed = (last.energyJ as number) - (first.energyJ as number)
        assert.ok(Math.abs((r.power.energyJ as number) - printed) <= 1e-6 * printed, `${r.power.energyJ} vs ${printed}`)
        // and it is the trace's energy: readings are stamped on arrival (the CLI prints no time), so
        // check against the trace's bounds rather than its exact timing
        const seconds = (last.atNs - first.atNs) / 1e9
        assert.ok(printed >= 500 * seconds * 0.9 && printed <= 800 * seconds * 1.1, `${printed} J over ${seconds} s`)
      } finally {
        rmSync(binDir, { recursive: true, force: true })
      }
    })
  }
})

test('ipmi: ipmitool layouts (1.8.18 and ≥ 1.8.19 same-line timestamp), FreeIPMI, deactivated, 0 W', () => {
  const newer = `\n    Instantaneous power reading:                   109 Watts\n    Minimum during sampling period:                 38 Watts\n    Maximum during sampling period:                242 Watts\n    Average power reading over sample period:      102 Watts\n    IPMI timestamp:                           10/12/23 13:29:17 CEST    Sampling period:                          00065530 Seconds.\n    Power reading state is:                   activated\n\n`
  assert.deepEqual(parseIpmitoolReading(newer), { powerW: 109, active: true, problem: null })
  const older = `    Instantaneous power reading:                   197 Watts\n    IPMI timestamp:                           Sun Mar  6 15:13:42 2022\n    Sampling period:                          00123893 Seconds.\n    Power reading state is:                   activated\n`
  assert.equal(parseIpmitoolReading(older).powerW, 197)
  assert.match(parseIpmitoolReading(older.replace('activated', 'deactivated')).problem ?? '', /deactivated/)
  assert.match(parseIpmitoolReading(newer.replace('109 Watts', '0 Watts')).problem ?? '', /0 W/)
  const free = 'Current Power                        : 332 Watts\nMinimum Power over sampling duration : 68 watts\nPower Measurement                    : Active\n'
  assert.deepEqual(parseFreeipmiReading(free), { powerW: 332, active: true, problem: null })
})

test('ipmi: polls ipmitool out of band; the password reaches it only through IPMI_PASSWORD, never argv', async () => {
  const clock = new NodeClock()
  const { env, binDir } = fakeToolsEnv({ FAKE_IPMI_WATTS: '342', MY_BMC_PW: 's3cr3t-pw', FAKE_IPMI_LOG: '' })
  const log = join(binDir, 'ipmi.log')
  env.FAKE_IPMI_LOG = log
  try {
    const spec = MeterSpecSchema.parse({ kind: 'ipmi', host: '10.0.0.5', user: 'admin', passwordEnv: 'MY_BMC_PW', periodMs: 300 })
    const meter = createMeter(spec, { env, clock })
    const run = await runMeter(meter, clock, 2000)
    const text = readFileSync(log, 'utf8')
    assert.match(text, /argv: -I lanplus -H 10\.0\.0\.5 -U admin -E dcmi power reading/)
    assert.ok(!/argv:.*s3cr3t-pw/.test(text), 'password on the command line')
    assert.match(text, /env IPMI_PASSWORD: s3cr3t-pw/)
    const win = { startNs: run.startNs + 400e6, endNs: run.endNs - 400e6 }
    const r = energy(run.samples, meter.info, win)
    const truth = (342 * (win.endNs - win.startNs)) / 1e9
    const i = r.power.interval
    assert.ok(i && truth >= i.low && truth <= i.high)
    assert.ok(Math.abs((r.power.energyJ as number) - truth) / truth < 0.01)
    assert.equal(r.power.boundary, 'node')
  } finally {
    rmSync(binDir, { recursive: true, force: true })
  }
})

test('ipmi: FreeIPMI gets the password in a 0600 config file, removed at stop', async () => {
  const clock = new NodeClock()
  const { env, binDir } = fakeToolsEnv({ MY_BMC_PW: 'pw-in-file' })
  const log = join(binDir, 'ipmi.log')
  env.FAKE_IPMI_LOG = log
  try {
    const meter = createMeter(MeterSpecSchema.parse({ kind: 'ipmi', tool: 'freeipmi', host: 'bmc', user: 'root', passwordEnv: 'MY_BMC_PW', periodMs: 500 }), { env, clock })
    const run = await runMeter(meter, clock, 1200)
    assert.ok(run.samples.length >= 2 && run.samples.every((s) => s.powerW === 332))
    const text = readFileSync(log, 'utf8')
    assert.match(text, /config: password pw-in-file/)
    assert.ok(!/argv:.*pw-in-file/.test(text))
    const conf = /--config-file (\S+)/.exec(text)?.[1] as string
    assert.throws(() => readFileSync(conf), /ENOENT/)
  } finally {
    rmSync(binDir, { recursive: true, force: true })
  }
})

test('ipmi: preflight explains a missing password, a missing device, deactivated and 0 W readings', async () => {
  const clock = new NodeClock()
  const { env, binDir } = fakeToolsEnv()
  try {
    const spec = (o: object) => MeterSpecSchema.parse({ kind: 'ipmi', ...o })
    await assert.rejects(createMeter(spec({ host: 'bmc', passwordEnv: 'NOPE_UNSET' }), { env, clock }).preflight(), (e: unknown) => e instanceof MeterUnavailableError && /NOPE_UNSET/.test(e.message))
    await assert.rejects(createMeter(spec({}), { env: { ...env, FAKE_IPMI_VARIANT: 'fail' }, clock }).preflight(), (e: unknown) => e instanceof MeterUnavailableError && /\/dev\/ipmi0/.test(e.message) && /modprobe/.test(e.hint ?? ''))
    await assert.rejects(createMeter(spec({}), { env: { ...env, FAKE_IPMI_VARIANT: 'deactivated' }, clock }).preflight(), /deactivated/)
    await assert.rejects(createMeter(spec({}), { env: { ...env, FAKE_IPMI_VARIANT: 'zero' }, clock }).preflight(), /0 W/)
    const ok = await createMeter(spec({ tool: 'auto' }), { env: { ...env, FAKE_IPMI_VARIANT: 'old' }, clock }).preflight()
    assert.match(ok.message, /342 W/)
  } finally {
    rmSync(binDir, { recursive: true, force: true })
  }
})
