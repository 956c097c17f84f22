import type { MeterInfo, PowerMeter } from '../../core/ports.js'

/** A meter whose info carries the `node` / `rack` / `pool` labels of its spec; everything else is the wrapped meter's. */
export function labelledMeter(meter: PowerMeter, labels: Pick<MeterInfo, 'node' | 'rack' | 'pool'>): PowerMeter {
  return {
    get info(): MeterInfo {
      return { ...meter.info, ...labels }
    },
    preflight: () => meter.preflight(),
    start: (onSample) => meter.start(onSample),
    stop: () => meter.stop(),
  }
}
