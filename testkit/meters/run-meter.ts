import type { PowerMeter } from '../../src/core/ports.js'
import type { PowerSample } from '../../src/core/records.js'
import type { Clock } from '../../src/core/ports.js'

/** Runs a meter for `ms` (preflight, start, wait, stop) and returns its samples with the run's time span. */
export async function runMeter(meter: PowerMeter, clock: Clock, ms: number): Promise<{ samples: PowerSample[]; startNs: number; endNs: number }> {
  await meter.preflight()
  const samples: PowerSample[] = []
  const startNs = clock.nowNs()
  await meter.start((s) => samples.push(s))
  await clock.sleepUntil(startNs + ms * 1e6)
  const endNs = clock.nowNs()
  await meter.stop()
  return { samples, startNs, endNs }
}
