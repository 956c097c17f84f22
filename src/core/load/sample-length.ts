import type { Distribution } from '../config/distribution.js'
import { standardNormal, type Rng } from './rng.js'

const DEFAULT_MIN = 1
const DEFAULT_MAX = 1_000_000

/** Draws one token length from a distribution, rounded and clamped to its bounds. */
export function sampleLength(d: Distribution, rng: Rng): number {
  if (d.type === 'fixed') return d.value
  const min = d.min ?? DEFAULT_MIN
  const max = d.max ?? DEFAULT_MAX
  let x: number
  switch (d.type) {
    case 'uniform':
      x = d.low + rng.next() * (d.high - d.low + 1) - 0.5
      break
    case 'normal':
      x = d.mean + d.stddev * standardNormal(rng)
      break
    case 'lognormal': {
      // Parameterised by the mean and stddev of the lengths themselves, not of their logarithm.
      const variance = d.stddev * d.stddev
      const sigma2 = Math.log(1 + variance / (d.mean * d.mean))
      const mu = Math.log(d.mean) - sigma2 / 2
      x = Math.exp(mu + Math.sqrt(sigma2) * standardNormal(rng))
      break
    }
  }
  return Math.min(max, Math.max(min, Math.round(x)))
}

/** The distribution's mean (used to describe a workload), before clamping. */
export function distributionMean(d: Distribution): number {
  switch (d.type) {
    case 'fixed':
      return d.value
    case 'uniform':
      return (d.low + d.high) / 2
    case 'normal':
    case 'lognormal':
      return d.mean
  }
}
