// Moving kernel timestamps (CLOCK_REALTIME) onto the run's monotonic clock: a preemption between the
// clock reads must not date chunks early (CI saw −12 µs delivery lags when the reads were one after
// the other), and with the host's real clocks a stamp taken now lands now.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { NodeClock } from '../../src/adapters/clock/node-clock.js'
import { openLibcSocket } from '../../src/adapters/endpoints/rx-stamps/libc-socket.js'
import { RealtimeBridge } from '../../src/adapters/endpoints/rx-stamps/realtime-bridge.js'

/** Simulated clocks: realtime = monotonic + OFFSET; each read costs 100 ns; `stalls` adds time before chosen reads. */
function simulated(stalls: Map<number, number>) {
  const OFFSET_NS = 1_765_000_000_123_456_789n
  let monoNs = 5_000_000
  let reads = 0
  const tick = (): void => {
    monoNs += 100 + (stalls.get(reads) ?? 0)
    reads++
  }
  return {
    clock: { nowNs: () => (tick(), monoNs) },
    readRealtime: (): readonly [number, number] => {
      tick()
      const rt = BigInt(monoNs) + OFFSET_NS
      return [Number(rt / 1_000_000_000n), Number(rt % 1_000_000_000n)]
    },
    /** The realtime stamp of run-clock instant `atNs`. */
    stampOf: (atNs: number): [number, number] => {
      const rt = BigInt(atNs) + OFFSET_NS
      return [Number(rt / 1_000_000_000n), Number(rt % 1_000_000_000n)]
    },
  }
}

test('a preemption between the clock reads is retried, so stamps are not dated early by it', () => {
  // 50 µs stall right before the first monotonic read (read 1), as the scheduler does on a busy machine
  const sim = simulated(new Map([[1, 50_000]]))
  const bridge = new RealtimeBridge(sim.readRealtime, sim.clock)
  const spanNs = bridge.sync()
  assert.ok(spanNs <= 200, `best bracket ${spanNs} ns`)
  const [s, ns] = sim.stampOf(4_000_000)
  const runNs = bridge.toRunNs(s, ns, Number.POSITIVE_INFINITY)
  assert.ok(Math.abs(runNs - 4_000_000) <= 100, `stamp off by ${runNs - 4_000_000} ns`)
})

test('a stamp is never dated after the reading taken after its read', () => {
  const sim = simulated(new Map())
  const bridge = new RealtimeBridge(sim.readRealtime, sim.clock)
  const [s, ns] = sim.stampOf(9_000_000)
  assert.equal(bridge.toRunNs(s, ns, 8_000_000), 8_000_000)
})

const libc = openLibcSocket()
test('with the host clocks, a realtime reading taken now lands now on the run clock', { skip: typeof libc === 'string' ? libc : false }, () => {
  if (typeof libc === 'string') return
  const clock = new NodeClock()
  const bridge = new RealtimeBridge(() => libc.realtime(), clock)
  bridge.sync()
  const beforeNs = clock.nowNs()
  const [s, ns] = libc.realtime()
  const afterNs = clock.nowNs()
  const runNs = bridge.toRunNs(s, ns, Number.POSITIVE_INFINITY)
  // loose: a loaded CI host may stall anywhere; the error of the bridge itself is sub-µs
  assert.ok(runNs >= beforeNs - 20_000 && runNs <= afterNs + 20_000, `${runNs} outside ${beforeNs}..${afterNs}`)
})
