import type { MeterInfo, MeterPreflight, PowerMeter } from '../../core/ports.js'
import type { PowerSample } from '../../core/records.js'

/**
 * A meter whose samples are also handed to `tap` (the Prometheus exporter, a live view) as they come,
 * without the run driving it knowing. Everything else is the wrapped meter's.
 */
export function tapMeter(meter: PowerMeter, tap: (sample: PowerSample, info: MeterInfo) => void): PowerMeter {
  return {
    get info(): MeterInfo {
      return meter.info
    },
    preflight: (): Promise<MeterPreflight> => meter.preflight(),
    start: (onSample) =>
      meter.start((s) => {
        onSample(s)
        tap(s, meter.info)
      }),
    stop: () => meter.stop(),
  }
}
