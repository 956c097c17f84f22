import assert from 'node:assert/strict'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { NodeClock } from '../../src/adapters/clock/node-clock.js'
import { parseIpmitoolReading } from '../../src/adapters/meters/ipmi/dcmi-output.js'
import { IpmiPowerMeter } from '../../src/adapters/meters/ipmi/ipmi-meter.js'
import { IpmitoolShell } from '../../src/adapters/meters/ipmi/ipmitool-shell.js'
import { type MeterSpecOf, MeterSpecSchema } from '../../src/core/config/meters-schema.js'
import { fakeToolsEnv } from '../../testkit/meters/fake-tools.js'
import { runMeter } from '../../testkit/meters/run-meter.js'

const ipmiSpec = (o: object): MeterSpecOf<'ipmi'> => MeterSpecSchema.parse({ kind: 'ipmi', ...o }) as MeterSpecOf<'ipmi'>
const lines = (file: string, re: RegExp): string[] => readFileSync(file, 'utf8').split('\n').filter((l) => re.test(l))

for (const mode of ['readline', 'quiet'] as const) {
  test(`ipmitool shell (${mode === 'readline' ? 'prompt and echo' : 'no prompt, no echo'}): each command's reply is cut at its own end marker`, async () => {
    const { env, binDir } = fakeToolsEnv({ FAKE_IPMI_SHELL: mode, FAKE_IPMI_WATTS: '417' })
    const log = join(binDir, 'ipmi.log')
    env.FAKE_IPMI_LOG = log
    const shell = new IpmitoolShell('ipmitool', ['-I', 'lanplus', '-H', 'bmc', '-E'], env, { IPMI_PASSWORD: 'pw' }, 5000)
    try {
      for (let i = 0; i < 5; i++) {
        const reply = await shell.command('dcmi power reading')
        assert.ok(reply.ok, reply.ok ? '' : reply.why)
        assert.deepEqual(parseIpmitoolReading(reply.text), { powerW: 417, active: true, problem: null })
        assert.ok(!/tokenwatt-end/.test(reply.text.replace(/^echo tokenwatt-end-\d+$/m, '')), `a marker leaked into the reply: ${reply.text}`)
        // the reply holds this command's output only: one reading each time, never two
        assert.equal(reply.text.match(/Instantaneous power reading/g)?.length, 1)
      }
      assert.equal(shell.starts, 1)
      await shell.close()
      assert.equal(shell.alive, false)
      assert.deepEqual(lines(log, /^argv:/), ['argv: -I lanplus -H bmc -E shell'])
      assert.equal(lines(log, /^shell: dcmi power reading$/).length, 5)
    } finally {
      await shell.close()
      rmSync(binDir, { recursive: true, force: true })
    }
  })
}

test('ipmitool shell: a session that stops answering times out and is killed; a refused shell reports why', async () => {
  const { env, binDir } = fakeToolsEnv({ FAKE_IPMI_SHELL: 'hang' })
  try {
    const shell = new IpmitoolShell('ipmitool', [], env, {}, 300)
    const reply = await shell.command('dcmi power reading')
    assert.deepEqual(reply, { ok: false, why: 'ipmitool shell did not answer in 300 ms' })
    assert.equal(shell.alive, false)
    await shell.close()
    const refused = new IpmitoolShell('ipmitool', [], { ...env, FAKE_IPMI_SHELL: 'none' }, {}, 5000)
    const r = await refused.command('dcmi power reading')
    assert.equal(r.ok, false)
    assert.match(r.ok ? '' : r.why, /exited \(code 255\): Compiled without readline, shell is disabled/)
    const missing = new IpmitoolShell(join(binDir, 'no-such-ipmitool'), [], env, {}, 5000)
    const m = await missing.command('dcmi power reading')
    assert.match(m.ok ? '' : m.why, /ENOENT/)
  } finally {
    rmSync(binDir, { recursive: true, force: true })
  }
})

test('ipmi meter: polls go through one shell session per BMC; the password reaches it only through IPMI_PASSWORD', async () => {
  const clock = new NodeClock()
  const { env, binDir } = fakeToolsEnv({ FAKE_IPMI_WATTS: '342', MY_BMC_PW: 's3cr3t-pw' })
  const log = join(binDir, 'ipmi.log')
  env.FAKE_IPMI_LOG = log
  try {
    const meter = new IpmiPowerMeter(ipmiSpec({ host: '10.0.0.5', user: 'admin', passwordEnv: 'MY_BMC_PW', periodMs: 100 }), { id: 'bmc', env, clock })
    const run = await runMeter(meter, clock, 1500)
    assert.ok(run.samples.length >= 10, `${run.samples.length} samples`)
    assert.ok(run.samples.every((s) => s.powerW === 342))
    assert.match(meter.info.description, /via ipmitool shell/)
    assert.equal(meter.shellStarts, 1)
    const text = readFileSync(log, 'utf8')
    // preflight's one reading, then a single session for every poll
    assert.deepEqual(lines(log, /^argv:/), ['argv: -I lanplus -H 10.0.0.5 -U admin -E dcmi power reading', 'argv: -I lanplus -H 10.0.0.5 -U admin -E shell'])
    assert.ok(lines(log, /^shell: dcmi power reading$/).length >= run.samples.length)
    assert.ok(!text.includes('s3cr3t-pw') || lines(log, /s3cr3t-pw/).every((l) => l === 'env IPMI_PASSWORD: s3cr3t-pw'))
    assert.equal(lines(log, /^env IPMI_PASSWORD: s3cr3t-pw$/).length, 2)
  } finally {
    rmSync(binDir, { recursive: true, force: true })
  }
})

test('ipmi meter: a shell that dies is restarted, with a process per poll meanwhile; no shell mode falls back to processes', async () => {
  const clock = new NodeClock()
  const { env, binDir } = fakeToolsEnv({ FAKE_IPMI_WATTS: '510' })
  const log = join(binDir, 'ipmi.log')
  try {
    // answers 4 commands (the probe and one poll, each a reading plus its end marker), then dies on the next
    const dying = new IpmiPowerMeter(ipmiSpec({ periodMs: 100 }), { id: 'bmc', env: { ...env, FAKE_IPMI_SHELL: 'die:4', FAKE_IPMI_LOG: log }, clock })
    const run = await runMeter(dying, clock, 2600)
    assert.ok(dying.shellStarts >= 2, `${dying.shellStarts} shell sessions`)
    // the poll that met the dead shell is the only gap; processes covered the second of back-off
    assert.ok(run.samples.length >= 20, `${run.samples.length} samples`)
    assert.ok(lines(log, /^argv: dcmi power reading$/).length >= 5, 'no process polls while the shell was down')
    assert.match(dying.info.description, /via ipmitool/)
    rmSync(log, { force: true })

    const none = new IpmiPowerMeter(ipmiSpec({ periodMs: 100 }), { id: 'bmc', env: { ...env, FAKE_IPMI_SHELL: 'none', FAKE_IPMI_LOG: log }, clock })
    const r2 = await runMeter(none, clock, 1200)
    assert.ok(r2.samples.length >= 8 && r2.samples.every((s) => s.powerW === 510))
    assert.match(none.info.description, /one process per poll: no shell mode \(ipmitool shell exited \(code 255\): Compiled without readline, shell is disabled\)/)
    assert.equal(lines(log, /^argv: shell$/).length, 1)
    assert.ok(lines(log, /^argv: dcmi power reading$/).length >= r2.samples.length)
  } finally {
    rmSync(binDir, { recursive: true, force: true })
  }
})
