import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { capForClock, DEFAULT_DEVICE as P, activity, joulesPerToken, relativeClock, tdpW } from '../../src/engines/mock/device-model.js'
import { readDeviceStateFile, updateDeviceStateFile } from '../../src/engines/mock/device-state.js'
import { startMockServer } from '../../src/engines/mock/index.js'
import { OpenAIStreamClient } from '../../src/adapters/endpoints/openai-client.js'

test('device model: the energy-optimal cap is the closed-form one, strictly inside the cap range', () => {
  const batch = 8
  const a = activity(P, batch)
  const fStar = Math.cbrt((P.idleW + a * P.uncoreW) / (2 * a * P.dynamicW))
  const capStar = capForClock(P, fStar)
  assert.ok(capStar > capForClock(P, P.fMin) && capStar < tdpW(P))
  let best = { cap: 0, j: Infinity }
  for (let cap = 200; cap <= 700; cap += 1) {
    const j = joulesPerToken(P, batch, relativeClock(P, cap, null), cap)
    if (j < best.j) best = { cap, j }
  }
  assert.ok(Math.abs(best.cap - capStar) <= 1, `numeric optimum ${best.cap} W vs closed form ${capStar.toFixed(1)} W`)
  // A locked clock below the cap's clock wins over the cap.
  assert.equal(relativeClock(P, 700, P.smClockMaxMHz / 2), 0.5)
})

test('mock device: obeys the cap written in the state file and writes its power and energy back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-dev-'))
  const stateFile = join(dir, 'device.state')
  const mock = await startMockServer({ port: 0, ttftMs: 1, device: { stateFile, baseItlMs: 2 } })
  const client = new OpenAIStreamClient({ baseUrl: mock.baseUrl, model: 'mock' })
  const send = async (): Promise<number> => {
    const r = await client.send({ seq: 0, phase: 'measure', userId: 0, scheduledAtNs: null, text: 'hi', messages: null, maxTokens: 40, targetInputTokens: null }, new AbortController().signal)
    assert.equal(r.error, null)
    return ((r.chunkAtNs.at(-1) ?? 0) - (r.chunkAtNs[0] ?? 0)) / 1e6
  }
  try {
    const s0 = readDeviceStateFile(stateFile)
    assert.equal(s0.power_limit_mw, tdpW(P) * 1000)
    const fast = await send()
    updateDeviceStateFile(stateFile, { power_limit_mw: capForClock(P, 0.5) * 1000 })
    await new Promise((r) => setTimeout(r, 250))
    const slow = await send()
    assert.ok(slow > fast * 1.6, `at half clock the stream took ${slow.toFixed(1)} ms vs ${fast.toFixed(1)} ms at TDP`)
    await new Promise((r) => setTimeout(r, 250))
    const s1 = readDeviceStateFile(stateFile)
    assert.ok((s1.energy_mj ?? 0) > 0)
    assert.equal(s1.power_mw, P.idleW * 1000)
    // The device's ticks write only its telemetry file: the controls file keeps the inode and mtime the
    // last cap write gave it, so a knob in another process can never have its cap put back by a tick.
    const stamp = (): string => {
      const st = statSync(stateFile, { bigint: true })
      return `${st.ino}:${st.mtimeNs}`
    }
    const controls = stamp()
    const energyBefore = readDeviceStateFile(stateFile).energy_mj ?? 0
    await send()
    await new Promise((r) => setTimeout(r, 250))
    assert.equal(stamp(), controls, 'the controls file was not rewritten')
    assert.ok((readDeviceStateFile(stateFile).energy_mj ?? 0) > energyBefore, 'the telemetry file was')
    assert.equal(readDeviceStateFile(stateFile).power_limit_mw, capForClock(P, 0.5) * 1000)
  } finally {
    await client.close()
    await mock.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
