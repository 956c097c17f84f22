import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { NodeClock } from '../../src/adapters/clock/node-clock.js'
import { placeReading, RedfishPowerMeter } from '../../src/adapters/meters/redfish/redfish-meter.js'
import { ClockOffsetEstimator } from '../../src/adapters/meters/remote/clock-offset.js'
import { indexSamples, meterEnergy } from '../../src/core/analysis/energy/meter-energy.js'
import { RedfishMeterSchema, type RedfishServiceOptions } from '../../src/core/config/meters-remote-schema.js'
import { MeterSpecSchema, parseMeterFlag } from '../../src/core/config/meters-schema.js'
import { MeterUnavailableError } from '../../src/core/errors.js'
import type { PowerSample } from '../../src/core/records.js'
import { makeTestCert, sawtooth, startFakeRedfish, wallMs, type FakeRedfish, type Shape, type TestCert } from './redfish-fake.js'

const USER = 'admin'
const PASSWORD = 'c0rrect-h0rse'
const env = { TW_TEST_BMC_PASSWORD: PASSWORD }

let cert: TestCert
/** One service's options, as a meter gets them. */
function service(o: Record<string, unknown>): RedfishServiceOptions {
  const s = RedfishMeterSchema.parse(o)
  assert.ok(s.url !== undefined)
  return { ...s, url: s.url }
}
before(() => {
  cert = makeTestCert()
})
after(() => cert.cleanup())

async function withFake<T>(shape: Shape, fn: (fake: FakeRedfish, trace: ReturnType<typeof sawtooth>) => Promise<T>, extra: { sessionOnly?: boolean } = {}): Promise<T> {
  const trace = sawtooth(wallMs())
  const fake = await startFakeRedfish({ cert, shape, user: USER, password: PASSWORD, trace, energyOffsetJ: 7.2e9, ...extra })
  try {
    return await fn(fake, trace)
  } finally {
    await fake.close()
  }
}

function meter(fake: FakeRedfish, options: Record<string, unknown> = {}, clock = new NodeClock()): RedfishPowerMeter {
  const spec = {
    ...RedfishMeterSchema.parse({
    kind: 'redfish',
    url: fake.url,
    user: USER,
    passwordEnv: 'TW_TEST_BMC_PASSWORD',
    periodMs: 100,
    tls: { fingerprint256: cert.fingerprint256 },
    ...options,
    }),
    url: fake.url,
  }
  return new RedfishPowerMeter(spec, { clock, env, id: 'bmc' })
}

/** Runs the meter for `ms`, returns its samples. */
async function sample(m: RedfishPowerMeter, ms: number): Promise<PowerSample[]> {
  const samples: PowerSample[] = []
  await m.start((s) => samples.push(s))
  await new Promise((r) => setTimeout(r, ms))
  await m.stop()
  return samples
}

/**
 * Energy of the meter over the middle of its samples, with the trace's exact integral there. `onSamples`
 * puts the edges on readings, so a counter's energy is a plain difference with no interpolation
 * across the sawtooth's kinks (that error is the core's to bound, and it does).
 */
function windowEnergy(m: RedfishPowerMeter, samples: PowerSample[], clock: NodeClock, trace: ReturnType<typeof sawtooth>, onSamples = false) {
  const first = samples[0]!.atNs
  const last = samples[samples.length - 1]!.atNs
  const win = onSamples ? { startNs: samples[2]!.atNs, endNs: samples[samples.length - 3]!.atNs } : { startNs: first + 150e6, endNs: last - 150e6 }
  const result = meterEnergy(m.info, indexSamples(samples).get('bmc'), win)
  const wall = (ns: number): number => clock.epochWallMs + ns / 1e6
  return { result, win, trueJ: trace.energyJ(wall(win.startNs), wall(win.endNs)) }
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

test('EnvironmentMetrics with an EnergyJoules counter, session auth, pinned certificate: energy within 0.1 %', async () => {
  await withFake('acd', async (fake, trace) => {
    const clock = new NodeClock()
    const m = meter(fake, {}, clock)
    const pre = await m.preflight()
    assert.deepEqual(pre.channels, ['node'])
    assert.equal(m.info.hasCounter, true)
    assert.equal(m.info.boundary, 'node')
    assert.match(m.info.description, /environment-metrics/)
    // The GPU baseboard inside 1U has its own power reading; adding it would count those watts twice.
    assert.match(pre.message, /sub-chassis not added .*HGX_Baseboard_0/)
    const discoveryRequests = fake.log.length
    const samples = await sample(m, 2200)
    assert.ok(samples.length >= 20, `got ${samples.length} samples`)
    assert.ok(samples.every((s) => s.channel === 'node' && s.powerW !== null && s.energyJ !== null && s.meterId === 'bmc'))
    assert.ok(!fake.log.slice(discoveryRequests).some((l) => l.includes('HGX')), 'the sub-chassis is never polled')
    const { result, trueJ, win } = windowEnergy(m, samples, clock, trace, true)
    assert.equal(result.method, 'counter')
    // The counter chain (units, scaling, differencing) is exact: against the trace between the
    // moments the BMC actually took the two edge readings, the energy agrees to 0.1 %.
    const readAt = (ns: number): number => {
      const s = samples.find((x) => x.atNs === ns)!
      return fake.reads.find((r) => (r.body.EnergyJoules as { Reading: number } | undefined)?.Reading === s.energyJ)!.wallMs
    }
    const exactJ = trace.energyJ(readAt(win.startNs), readAt(win.endNs))
    const rel = Math.abs(result.energyJ! - exactJ) / exactJ
    assert.ok(rel < 0.001, `counter energy ${result.energyJ} J vs trace ${exactJ.toFixed(1)} J: ${(rel * 100).toFixed(3)} %`)
    // Placement in time: a sample sits within the request that read it (loopback: about a millisecond,
    // more on a loaded machine), so against the trace at the samples' own times the energy is within 2 %.
    const relAtSamples = Math.abs(result.energyJ! - trueJ) / trueJ
    assert.ok(relAtSamples < 0.02, `${result.energyJ} J vs ${trueJ.toFixed(1)} J at the samples' times: ${(relAtSamples * 100).toFixed(3)} %`)
    const lagMs = samples.map((x) => Math.abs(clock.epochWallMs + x.atNs / 1e6 - fake.reads.find((r) => (r.body.EnergyJoules as { Reading: number } | undefined)?.Reading === x.energyJ)!.wallMs)).sort((a, b) => a - b)
    assert.ok(lagMs[Math.floor(lagMs.length / 2)]! < 2, `median placement error ${lagMs[Math.floor(lagMs.length / 2)]} ms`)
    // Sessions: one login, every poll by token, logged out on stop.
    assert.equal(fake.log.filter((l) => l.startsWith('POST /redfish/v1/SessionService/Sessions')).length, 1)
    assert.ok(fake.log.filter((l) => l.startsWith('GET /redfish/v1/Chassis/1U/EnvironmentMetrics')).every((l) => l.endsWith('token')))
    assert.ok(fake.log.some((l) => l.startsWith('DELETE /redfish/v1/SessionService/Sessions/1')))
    assert.equal(fake.sessions.size, 0)
    const offset = m.clockOffset()
    assert.ok(offset !== null && Math.abs(offset.offsetMs) <= offset.uncertaintyMs + 1, `offset ${JSON.stringify(offset)}`)
    assert.ok(offset.uncertaintyMs < 500, 'Date headers across second boundaries narrow the offset below their 1 s resolution')
  })
})

test('PowerSubsystem only, Basic auth: the supplies\' input watts add up, absent bay skipped, energy within the interval', async () => {
  await withFake('psu-only', async (fake, trace) => {
    const clock = new NodeClock()
    const m = meter(fake, { auth: 'basic' }, clock)
    const pre = await m.preflight()
    assert.deepEqual(pre.channels, ['psu-0', 'psu-1'])
    // EnergykWh on the supplies is whole kWh: too coarse, so power is integrated.
    assert.equal(m.info.hasCounter, false)
    assert.match(pre.message, /kWh, too coarse/)
    const samples = await sample(m, 1600)
    assert.ok(fake.log.filter((l) => l.startsWith('GET /redfish/v1/Chassis/Self/PowerSubsystem/PowerSupplies/0/Metrics')).every((l) => l.endsWith('basic')))
    assert.equal(fake.log.filter((l) => l.startsWith('POST')).length, 0)
    const { result, trueJ } = windowEnergy(m, samples, clock, trace)
    assert.equal(result.method, 'trapezoid')
    assert.equal(result.channels.filter((c) => !c.nested).length, 2)
    assert.ok(Math.abs(result.energyJ! - trueJ) <= result.halfWidthJ, `${result.energyJ} J vs ${trueJ} J ± ${result.halfWidthJ} J`)
    assert.ok(result.halfWidthJ / trueJ < 0.25, `a useful interval: ±${((result.halfWidthJ / trueJ) * 100).toFixed(1)} % (±5 % accuracy plus sampling)`)
  })
})

test('legacy Power only, trusted through a CA file: PowerControl[0] alone, never the sub-domain after it', async () => {
  await withFake('legacy-only', async (fake, trace) => {
    const clock = new NodeClock()
    const m = meter(fake, { tls: { caFile: cert.certFile, servername: 'localhost' } }, clock)
    const pre = await m.preflight()
    assert.deepEqual(pre.channels, ['node'])
    const samples = await sample(m, 500)
    for (const s of samples) {
      // The trace's range over ±30 ms around the sample; the 150 W sub-domain added would fall outside it.
      const t = clock.epochWallMs + s.atNs / 1e6
      const around = Array.from({ length: 61 }, (_, k) => trace.powerW(t - 30 + k))
      assert.ok(s.powerW! >= Math.min(...around) - 0.01 && s.powerW! <= Math.max(...around) + 0.01, `power ${s.powerW} W is the trace's ${Math.min(...around).toFixed(1)}–${Math.max(...around).toFixed(1)} W, not + the 150 W sub-domain`)
    }
    assert.match(m.info.description, /power \(1 channel\)/)
  })
})

test('Sensors only: picks the chassis total power and the joules counter among CPU/PSU/temperature sensors', async () => {
  await withFake('sensors-only', async (fake) => {
    const m = meter(fake)
    const pre = await m.preflight()
    assert.deepEqual(pre.channels, ['node'])
    assert.equal(m.info.hasCounter, true)
    assert.equal(m.info.averagingWindowMs, 250) // SensingInterval PT0.25S
    const samples = await sample(m, 500)
    assert.ok(samples.length >= 3)
    for (const s of samples) {
      assert.ok(s.powerW! >= 500 && s.powerW! <= 900, `${s.powerW} W is the total, not CPU1Power (150 W)`)
      assert.ok(s.energyJ! > 7.2e9)
      assert.ok(s.sourceTimeMs !== null, 'ReadingTime is kept as the source timestamp')
    }
    assert.ok(fake.log.some((l) => l.startsWith('GET /redfish/v1/Chassis/Enclosure/Sensors/TotalEnergy')))
    assert.ok(!fake.log.slice(-6).some((l) => l.includes('CPU1Power')), 'only the chosen sensors are polled')
  })
})

test('RackPDU: mains at the rack boundary by default, chosen outlets at the node', async () => {
  await withFake('pdu', async (fake, trace) => {
    const mains = meter(fake)
    const pre = await mains.preflight()
    assert.deepEqual(pre.channels, ['inlet-AC1'])
    assert.equal(mains.info.boundary, 'rack')
    assert.equal(mains.info.accuracyRel, 0.01)
    assert.equal(mains.info.hasCounter, false)
    await mains.stop()

    const clock = new NodeClock()
    const outlets = meter(fake, { outlets: ['A1', 'A2'] }, clock)
    assert.deepEqual((await outlets.preflight()).channels, ['outlet-A1', 'outlet-A2'])
    assert.equal(outlets.info.boundary, 'node')
    const samples = await sample(outlets, 1600)
    const { result, trueJ } = windowEnergy(outlets, samples, clock, trace)
    assert.ok(Math.abs(result.energyJ! - trueJ) <= result.halfWidthJ, `${result.energyJ} J vs ${trueJ} J ± ${result.halfWidthJ} J`)

    const missing = await rejection(meter(fake, { outlets: ['B7'] }).preflight())
    assert.match(missing.message, /outlet B7 not found .*A1, A2, A3/)
  })
})

test('a wrong password: a clear preflight error, and the password appears nowhere', async () => {
  await withFake('acd', async (fake) => {
    for (const auth of ['session', 'basic'] as const) {
      const m = new RedfishPowerMeter(
        { ...RedfishMeterSchema.parse({ kind: 'redfish', url: fake.url, user: USER, passwordEnv: 'BAD', auth, tls: { fingerprint256: cert.fingerprint256 } }), url: fake.url },
        { clock: new NodeClock(), env: { BAD: 'hunter2-wrong' }, id: 'bmc' },
      )
      const err = await rejection(m.preflight())
      assert.match(err.message, /credentials were rejected \(HTTP 401/)
      assert.match(err.hint ?? '', /BAD/)
      assert.ok(!`${err.message} ${err.hint}`.includes('hunter2'))
    }
    const noPassword = new RedfishPowerMeter(service({ kind: 'redfish', url: fake.url, user: USER, tls: { fingerprint256: cert.fingerprint256 } }), { clock: new NodeClock(), env: {} })
    const err = await rejection(noPassword.preflight())
    assert.match(err.message, /TOKENWATT_REDFISH_PASSWORD/)
  })
})

test('TLS: a wrong pinned fingerprint is refused before any request; an unpinned self-signed certificate gets a hint with its fingerprint', async () => {
  await withFake('acd', async (fake) => {
    const wrong = 'AA'.repeat(32)
    const pinned = await rejection(meter(fake, { tls: { fingerprint256: wrong } }).preflight())
    assert.match(pinned.message, /refused the connection: certificate fingerprint .* does not match the pinned AA:AA/)
    assert.equal(fake.log.length, 0, 'no HTTP request (and no credential) reached the server')

    const untrusted = await rejection(meter(fake, { tls: {} }).preflight())
    assert.match(untrusted.message, /not trusted/)
    assert.ok(untrusted.hint?.includes(cert.fingerprint256), `the hint names the certificate's fingerprint ${cert.fingerprint256}: ${untrusted.hint}`)
    assert.equal(fake.log.length, 0)
  })
})

test('an expired session is renewed once, sampling goes on, and the new session is deleted on stop', async () => {
  await withFake('acd', async (fake) => {
    const m = meter(fake)
    await m.preflight()
    const samples: PowerSample[] = []
    await m.start((s) => samples.push(s))
    await new Promise((r) => setTimeout(r, 300))
    fake.expireSessions()
    const before = samples.length
    await new Promise((r) => setTimeout(r, 400))
    await m.stop()
    assert.ok(samples.length >= before + 2, `${samples.length - before} samples after the session expired`)
    assert.equal(fake.log.filter((l) => l.startsWith('POST /redfish/v1/SessionService/Sessions')).length, 2)
    assert.equal(fake.sessions.size, 0)
    assert.equal(m.health().failedReads, 0)
  })
})

test('chassis listed together with one inside it is refused (double counting); a forced source is honoured', async () => {
  await withFake('acd', async (fake) => {
    const both = await rejection(meter(fake, { chassis: ['1U', 'HGX_Baseboard_0'] }).preflight())
    assert.match(both.message, /HGX_Baseboard_0 is inside 1U: reading both would count its power twice/)
    const legacy = meter(fake, { source: 'power' })
    assert.deepEqual((await legacy.preflight()).channels, ['node'])
    assert.match(legacy.info.description, /: power \(/)
    assert.equal(legacy.info.hasCounter, false)
    await legacy.stop()
    const psus = meter(fake, { source: 'power-subsystem' })
    assert.deepEqual((await psus.preflight()).channels, ['psu-0', 'psu-1'])
    await psus.stop()
  })
})

test('an unreachable service: a one-line cause with a hint', async () => {
  const m = new RedfishPowerMeter(
    service({ kind: 'redfish', url: 'https://127.0.0.1:1', user: USER, passwordEnv: 'TW_TEST_BMC_PASSWORD', timeoutMs: 1000 }),
    { clock: new NodeClock(), env },
  )
  const err = await rejection(m.preflight())
  assert.match(err.message, /cannot be reached \(ECONNREFUSED\)/)
})

test('clock offset from whole-second Date headers: polls at different phases narrow it; a stepped clock restarts the estimate', () => {
  const est = new ClockOffsetEstimator('http-date')
  const trueOffsetMs = 1234.5
  // Polls every 370 ms, 2 ms round trips; the header truncates the remote time to the second.
  for (let i = 0; i < 40; i++) {
    const send = 1_700_000_000_000 + i * 370
    const recv = send + 2
    est.observeHttpDate(new Date(Math.floor((send + 1 + trueOffsetMs) / 1000) * 1000).toUTCString(), send, recv)
  }
  const o = est.current()!
  assert.ok(Math.abs(o.offsetMs - trueOffsetMs) <= o.uncertaintyMs, `${o.offsetMs} ± ${o.uncertaintyMs}`)
  assert.ok(o.uncertaintyMs < 30, `narrowed from ±500 ms to ±${o.uncertaintyMs} ms`)
  assert.equal(o.steps, 0)
  // The BMC's clock is set 60 s ahead (NTP catching up): the old interval is abandoned, not averaged.
  const send = 1_700_000_100_000
  est.observeHttpDate(new Date(Math.floor((send + 1 + trueOffsetMs + 60_000) / 1000) * 1000).toUTCString(), send, send + 2)
  assert.equal(est.current()!.steps, 1)
  assert.ok(Math.abs(est.current()!.offsetMs - (trueOffsetMs + 60_000)) <= 501)
})

test('placing a reading in time: a fresh one at the request, a stale one back at its ReadingTime', () => {
  const clock = new NodeClock()
  const nowNs = clock.nowNs()
  const sent = nowNs - 4e6
  const recv = nowNs - 2e6
  const wallAt = (ns: number): number => clock.epochWallMs + ns / 1e6
  const exact = { lowMs: -1, highMs: 1 } // remote = local ± 1 ms
  assert.equal(placeReading({ readingTimeMs: null, readingTimePrecise: false }, sent, recv, exact, clock), (sent + recv) / 2)
  const fresh = placeReading({ readingTimeMs: wallAt(sent + 1e6), readingTimePrecise: true }, sent, recv, exact, clock)
  assert.ok(Math.abs(fresh - (sent + recv) / 2) < 1.5e6, 'a reading taken during the request stays there')
  const stale = placeReading({ readingTimeMs: wallAt(sent - 3000e6), readingTimePrecise: true }, sent, recv, exact, clock)
  assert.ok(Math.abs(stale - (sent - 3000e6)) <= 2.01e6, 'a reading the BMC took 3 s earlier moves back 3 s (to the latest time its bounds allow)')
  const unknownOffset = placeReading({ readingTimeMs: wallAt(sent - 3000e6), readingTimePrecise: true }, sent, recv, null, clock)
  assert.equal(unknownOffset, (sent + recv) / 2)
})

test('the --meter short forms of the remote kinds', () => {
  assert.deepEqual(parseMeterFlag('redfish:https://10.0.0.5'), { kind: 'redfish', url: 'https://10.0.0.5' })
  assert.deepEqual(parseMeterFlag('snmp:apc@10.0.0.9'), { kind: 'snmp', vendor: 'apc', host: '10.0.0.9' })
  assert.deepEqual(parseMeterFlag('snmp:eaton@[fd00::9]:1161'), { kind: 'snmp', vendor: 'eaton', host: 'fd00::9', port: 1161 })
  assert.deepEqual(parseMeterFlag('prometheus:kepler@http://prom:9090'), { kind: 'prometheus', preset: 'kepler', url: 'http://prom:9090' })
  assert.deepEqual(parseMeterFlag('prometheus:http://prom:9090'), { kind: 'prometheus', url: 'http://prom:9090' })
  const spec = MeterSpecSchema.parse(parseMeterFlag('snmp:raritan@pdu-a'))
  assert.equal(spec.kind === 'snmp' && spec.vendor, 'raritan')
  assert.throws(() => MeterSpecSchema.parse({ kind: 'redfish', url: 'https://bmc', tls: { fingerprint256: 'AB:CD' } }), /64 hex digits/)
  assert.throws(() => MeterSpecSchema.parse({ kind: 'redfish', url: 'https://bmc', tls: { insecure: true, caFile: 'ca.pem' } }), /insecure cannot be combined/)
  assert.throws(() => MeterSpecSchema.parse({ kind: 'snmp', vendor: 'raritan', host: 'pdu', what: 'phases', phases: [1] }), /phase power is not read for raritan/)
  assert.throws(() => MeterSpecSchema.parse({ kind: 'prometheus', url: 'http://p:9090', preset: 'custom' }), /preset custom needs power/)
})
