import { exponential, gamma, type Rng } from './rng.js'

export type ArrivalType = 'constant' | 'poisson' | 'gamma'

/**
 * Absolute arrival offsets (ns from the start of the load) for an open-loop schedule. The scheduler
 * waits until `start + offset` for each; it never sleeps an interval, so lateness cannot accumulate.
 * Gamma inter-arrivals have shape k = burstiness and mean 1/rate (k = 1 is Poisson; k < 1 burstier).
 */
export function* arrivalOffsetsNs(type: ArrivalType, ratePerS: number, burstiness: number, rng: Rng): Generator<number> {
  const meanGapNs = 1e9 / ratePerS
  let t = 0
  for (let i = 0; ; i++) {
    if (type === 'constant') {
      yield i * meanGapNs
      continue
    }
    yield t
    t += type === 'poisson' ? exponential(rng, 1) * meanGapNs : gamma(rng, burstiness, 1 / burstiness) * meanGapNs
  }
}
