import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { NodeClock } from '../../src/adapters/clock/node-clock.js'
import { SnmpPowerMeter } from '../../src/adapters/meters/snmp/snmp-meter.js'
import { indexSamples, meterEnergy } from '../../src/core/analysis/energy/meter-energy.js'
import { SnmpMeterSchema, type SnmpPduOptions } from '../../src/core/config/meters-remote-schema.js'
import { MeterUnavailableError } from '../../src/core/errors.js'
import type { PowerSample } from '../../src/core/records.js'
import { sawtooth, wallMs, type Trace } from './redfish-fake.js'
import { startFakeAgent, V3_USER, type FakeAgent } from './snmp-fake-agent.js'

/** One PDU's options, as a meter gets them. */
function pdu(o: Record<string, unknown>): SnmpPduOptions {
  const s = SnmpMeterSchema.parse(o)
  assert.ok(s.host !== undefined)
  return { ...s, host: s.host }
}

let agent: FakeAgent
let trace: Trace
const U32 = 2 ** 32
// Raritan inlet: power with one decimal digit, energy with five (10 µWh steps), starting 0.2 Wh
// (about a second of the trace) before the Unsigned32 meter wraps, so the test run crosses the wrap.
const ENERGY_DIGITS = 5
const START_RAW = U32 - 0.2 * 10 ** ENERGY_DIGITS

before(async () => {
  const originMs = wallMs()
  trace = sawtooth(originMs)
  agent = await startFakeAgent({ trace, originMs, raritanPowerDigits: 1, raritanEnergyDigits: ENERGY_DIGITS, raritanEnergyStartRaw: START_RAW, energyOffsetJ: 3.6e9 })
  await new Promise((r) => setTimeout(r, 50))
})
after(() => agent.close())

const env = { TW_SNMP_AUTH: V3_USER.authKey, TW_SNMP_PRIV: V3_USER.privKey }

function meter(options: Record<string, unknown>, clock = new NodeClock()): SnmpPowerMeter {
  const spec = pdu({ kind: 'snmp', host: '127.0.0.1', port: agent.port, periodMs: 100, timeoutMs: 500, retries: 1, ...options })
  return new SnmpPowerMeter(spec, { clock, env, id: 'pdu' })
}

async function sample(m: SnmpPowerMeter, ms: number): Promise<PowerSample[]> {
  const samples: PowerSample[] = []
  await m.start((s) => samples.push(s))
  await new Promise((r) => setTimeout(r, ms))
  await m.stop()
  return samples
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

/**
 * Each sample's power is exactly what the agent served for that object near the sample's time, scaled
 * (`scale` W per raw unit), and follows the trace within the vendor's resolution `toleranceW` of its
 * range over ±100 ms around the sample (scheduling delay on a loaded machine: 30 ms was once too little in CI).
 */
function assertPowerTracks(samples: PowerSample[], clock: NodeClock, share: (channel: string) => number, toleranceW: number, oidOf?: (channel: string) => string, scale = 1): void {
  assert.ok(samples.length >= 3, `${samples.length} samples`)
  for (const s of samples) {
    const atWall = clock.epochWallMs + s.atNs / 1e6
    // The trace's range over ±100 ms around the sample (the sawtooth drops 400 W at once).
    const around = Array.from({ length: 201 }, (_, k) => trace.powerW(atWall - 100 + k) * share(s.channel))
    const lo = Math.min(...around) - toleranceW
    const hi = Math.max(...around) + toleranceW
    assert.ok(s.powerW! >= lo && s.powerW! <= hi, `${s.channel}: ${s.powerW} W vs trace ${lo.toFixed(1)}–${hi.toFixed(1)} W`)
    if (oidOf !== undefined) {
      const served = agent.reads.filter((r) => r.oid === oidOf(s.channel) && Math.abs(r.wallMs - atWall) < 100)
      assert.ok(served.some((r) => Math.abs((r.value as number) * scale - s.powerW!) < 1e-9), `${s.channel}: ${s.powerW} W is a served raw value × ${scale}`)
    }
  }
}

test('APC rPDU2: device power in hundredths of kW, 0.1 kWh meter too coarse → power integrated within its interval', async () => {
  const clock = new NodeClock()
  const m = meter({ vendor: 'apc' }, clock)
  const pre = await m.preflight()
  assert.deepEqual(pre.channels, ['inlet-1'])
  assert.match(pre.message, /energy meter too coarse \(100 Wh steps\): power integrated/)
  assert.match(pre.message, /agent: tokenwatt test agent/)
  assert.equal(m.info.hasCounter, false)
  assert.equal(m.info.resolutionW, 10)
  assert.equal(m.info.resolutionJ, 360_000)
  assert.equal(m.info.boundary, 'rack')
  const samples = await sample(m, 1500)
  assertPowerTracks(samples, clock, () => 1, 5, () => '1.3.6.1.4.1.318.1.1.26.4.3.1.5.1', 10)
  assert.ok(samples.every((s) => s.energyJ !== null && s.energyJ % 360_000 === 0), 'energy in whole 0.1 kWh steps, in joules')
  const win = { startNs: samples[0]!.atNs + 100e6, endNs: samples[samples.length - 1]!.atNs - 100e6 }
  const r = meterEnergy(m.info, indexSamples(samples).get('pdu'), win)
  const trueJ = trace.energyJ(clock.epochWallMs + win.startNs / 1e6, clock.epochWallMs + win.endNs / 1e6)
  assert.equal(r.method, 'trapezoid')
  assert.ok(Math.abs(r.energyJ! - trueJ) <= r.halfWidthJ, `${r.energyJ} J vs ${trueJ} J ± ${r.halfWidthJ} J`)
})

test('APC phases and metered outlets; an outlet the model does not meter (-1) is refused at preflight', async () => {
  const clock = new NodeClock()
  const phases = meter({ vendor: 'apc', phases: [1, 2, 3] }, clock)
  assert.deepEqual((await phases.preflight()).channels, ['phase-1', 'phase-2', 'phase-3'])
  assertPowerTracks(await sample(phases, 400), clock, () => 1 / 3, 5, (c) => `1.3.6.1.4.1.318.1.1.26.6.3.1.7.${c.slice(-1)}`, 10)

  const outlets = meter({ vendor: 'apc', outlets: [1, 2] }, clock)
  assert.deepEqual((await outlets.preflight()).channels, ['outlet-1', 'outlet-2'])
  assert.equal(outlets.info.boundary, 'node')
  assert.equal(outlets.info.resolutionW, 1)
  assertPowerTracks(await sample(outlets, 400), clock, () => 0.5, 0.5, (c) => `1.3.6.1.4.1.318.1.1.26.9.4.3.1.7.${c.slice(-1)}`)

  const unmetered = await rejection(meter({ vendor: 'apc', outlets: [3] }).preflight())
  assert.match(unmetered.message, /no power reading at outlet-3 \(1\.3\.6\.1\.4\.1\.318\.1\.1\.26\.9\.4\.3\.1\.7\.3\)/)
  assert.match(unmetered.hint ?? '', /-1 means the model does not meter it/)
})

test('Raritan PDU2: decimal digits applied, timestamps kept, the Wh counter wraps at 2^32 and energy stays within 0.1 %', async () => {
  const clock = new NodeClock()
  const m = meter({ vendor: 'raritan' }, clock)
  const pre = await m.preflight()
  assert.deepEqual(pre.channels, ['inlet-1'])
  assert.equal(m.info.hasCounter, true)
  assert.equal(m.info.resolutionJ, 3600 / 10 ** ENERGY_DIGITS)
  assert.equal(m.info.counterModulusJ?.['inlet-1'], (U32 * 3600) / 10 ** ENERGY_DIGITS)
  const samples = await sample(m, 1800)
  assertPowerTracks(samples, clock, () => 1, 0.05, () => '1.3.6.1.4.1.13742.6.5.2.3.1.4.1.1.5', 0.1)
  for (const s of samples) assert.ok(s.sourceTimeMs !== null && Math.abs(s.sourceTimeMs - (clock.epochWallMs + s.atNs / 1e6)) < 1500, 'the PDU timestamp is kept')
  const energies = samples.map((s) => s.energyJ!)
  assert.ok(energies.some((e, i) => i > 0 && e < energies[i - 1]!), 'the raw counter wrapped during the run')

  // Edges on two readings: the energy between them against the trace between the moments the agent
  // read them (the counter chain: digits, Wh → J, unwrapping), within 0.1 %.
  const a = samples[1]!
  const b = samples[samples.length - 2]!
  const r = meterEnergy(m.info, indexSamples(samples).get('pdu'), { startNs: a.atNs, endNs: b.atNs })
  assert.equal(r.method, 'counter')
  assert.equal(r.channels[0]!.wraps, 1)
  const readAt = (s: PowerSample): number => {
    const raw = Math.round((s.energyJ! / 3600) * 10 ** ENERGY_DIGITS)
    return agent.reads.find((x) => x.oid.startsWith('1.3.6.1.4.1.13742.6.5.2.3.1.4.1.1.8') && x.value === raw)!.wallMs
  }
  const exactJ = trace.energyJ(readAt(a), readAt(b))
  const rel = Math.abs(r.energyJ! - exactJ) / exactJ
  assert.ok(rel < 0.001, `counter ${r.energyJ} J vs trace ${exactJ} J: ${(rel * 100).toFixed(3)} %`)
})

test('Raritan outlets, ServerTech cord and outlets: scaling per object, Wh outlet meters are counters, tenth-kWh cords are not', async () => {
  const clock = new NodeClock()
  const rar = meter({ vendor: 'raritan', outlets: [3, 4] }, clock)
  assert.deepEqual((await rar.preflight()).channels, ['outlet-3', 'outlet-4'])
  assertPowerTracks(await sample(rar, 300), clock, () => 0.5, 0.05, (c) => `1.3.6.1.4.1.13742.6.5.4.3.1.4.1.${c.slice(-1)}.5`, 0.1)

  const cord = meter({ vendor: 'servertech' }, clock)
  const pre = await cord.preflight()
  assert.deepEqual(pre.channels, ['inlet-1'])
  assert.equal(cord.info.hasCounter, false)
  assertPowerTracks(await sample(cord, 300), clock, () => 1, 0.5, () => '1.3.6.1.4.1.1718.4.1.3.3.1.3.1.1')

  const outlets = meter({ vendor: 'servertech', outlets: [1, 2, 3, 4] }, clock)
  assert.deepEqual((await outlets.preflight()).channels, ['outlet-1', 'outlet-2', 'outlet-3', 'outlet-4'])
  assert.equal(outlets.info.hasCounter, true)
  assert.equal(outlets.info.resolutionJ, 3600)
  const samples = await sample(outlets, 300)
  assertPowerTracks(samples, clock, () => 0.25, 0.5, (c) => `1.3.6.1.4.1.1718.4.1.8.3.1.7.1.1.${c.slice(-1)}`)
  assert.ok(samples.every((s) => s.energyJ! % 3600 === 0 && s.energyJ! > 0.25 * 3.6e9 - 3600))
})

test('Eaton ePDU: strapping index 0, input total, phases, outlets; the total row listed as a phase is refused', async () => {
  const clock = new NodeClock()
  const inlet = meter({ vendor: 'eaton' }, clock)
  assert.deepEqual((await inlet.preflight()).channels, ['inlet-1'])
  assert.equal(inlet.info.hasCounter, true)
  assert.equal(inlet.info.counterModulusJ?.['inlet-1'], U32 * 3600)
  assertPowerTracks(await sample(inlet, 300), clock, () => 1, 0.5, () => '1.3.6.1.4.1.534.6.6.7.3.5.1.4.0.1')

  const phases = meter({ vendor: 'eaton', phases: [1, 2, 3] }, clock)
  assert.deepEqual((await phases.preflight()).channels, ['phase-1', 'phase-2', 'phase-3'])
  assertPowerTracks(await sample(phases, 300), clock, () => 1 / 3, 0.5, (c) => `1.3.6.1.4.1.534.6.6.7.3.4.1.4.0.1.${c.slice(-1)}`)

  const total = await rejection(meter({ vendor: 'eaton', phases: [1, 2, 3, 4] }).preflight())
  assert.match(total.message, /row 4 is the total of the phases; adding it to them would count twice/)

  const outlets = meter({ vendor: 'eaton', outlets: [1, 2] }, clock)
  assert.deepEqual((await outlets.preflight()).channels, ['outlet-1', 'outlet-2'])
  assertPowerTracks(await sample(outlets, 300), clock, () => 0.5, 0.5, (c) => `1.3.6.1.4.1.534.6.6.7.6.5.1.3.0.${c.slice(-1)}`)
})

test('SNMPv3 authPriv (SHA/AES) with keys from the environment; a wrong key or a wrong community is a clear preflight error', async () => {
  const v3 = { name: V3_USER.name, authKeyEnv: 'TW_SNMP_AUTH', privKeyEnv: 'TW_SNMP_PRIV' }
  const clock = new NodeClock()
  const good = meter({ vendor: 'eaton', version: '3', v3 }, clock)
  assert.deepEqual((await good.preflight()).channels, ['inlet-1'])
  assertPowerTracks(await sample(good, 300), clock, () => 1, 0.5, () => '1.3.6.1.4.1.534.6.6.7.3.5.1.4.0.1')

  const wrongKey = new SnmpPowerMeter(
    pdu({ kind: 'snmp', vendor: 'eaton', host: '127.0.0.1', port: agent.port, timeoutMs: 300, retries: 0, version: '3', v3 }),
    { clock, env: { TW_SNMP_AUTH: 'not-the-key', TW_SNMP_PRIV: V3_USER.privKey } },
  )
  const err = await rejection(wrongKey.preflight())
  // net-snmp's agent, like many, drops a request with a wrong key without a Report: a timeout whose hint names the keys.
  assert.match(`${err.message} ${err.hint}`, /SNMPv3 credentials were rejected|no answer.*TW_SNMP_AUTH \/ TW_SNMP_PRIV/)
  assert.ok(!`${err.message} ${err.hint}`.includes('not-the-key'))

  const missing = await rejection(new SnmpPowerMeter(pdu({ kind: 'snmp', vendor: 'eaton', host: '127.0.0.1', version: '3', v3 }), { clock, env: {} }).preflight())
  assert.match(missing.message, /TW_SNMP_AUTH/)

  const community = new SnmpPowerMeter(
    pdu({ kind: 'snmp', vendor: 'apc', host: '127.0.0.1', port: agent.port, timeoutMs: 300, retries: 0, communityEnv: 'TW_COMMUNITY' }),
    { clock, env: { TW_COMMUNITY: 'private-guess' } },
  )
  const silent = await rejection(community.preflight())
  assert.match(silent.message, /no answer within 300 ms/)
  assert.match(silent.hint ?? '', /community in TW_COMMUNITY/)
})
