import { z } from 'zod'

/**
 * A length distribution for input or output tokens. A bare number means `fixed`.
 * Sampled values are rounded and clamped to [min, max] (defaults 1 and 1,000,000).
 */
const Bounds = { min: z.number().int().positive().optional(), max: z.number().int().positive().optional() }

export const DistributionSchema = z.union([
  z.number().int().positive().transform((value) => ({ type: 'fixed' as const, value })),
  z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('fixed'), value: z.number().int().positive() }),
    z.strictObject({ type: z.literal('uniform'), low: z.number().int().positive(), high: z.number().int().positive(), ...Bounds }),
    z.strictObject({ type: z.literal('normal'), mean: z.number().positive(), stddev: z.number().nonnegative(), ...Bounds }),
    z.strictObject({ type: z.literal('lognormal'), mean: z.number().positive(), stddev: z.number().nonnegative(), ...Bounds }),
  ]),
])
export type Distribution = z.output<typeof DistributionSchema>

/** Parses the flag form: `512`, `uniform:100-900`, `normal:512,64`, `lognormal:512,200`. */
export function parseDistributionFlag(text: string): unknown {
  const t = text.trim()
  if (/^\d+$/.test(t)) return Number(t)
  const m = /^(fixed|uniform|normal|lognormal):(.+)$/.exec(t)
  if (!m) return text
  const [, type, rest = ''] = m
  if (type === 'fixed') return { type, value: Number(rest) }
  if (type === 'uniform') {
    const [low, high] = rest.split('-').map(Number)
    return { type, low, high }
  }
  const [mean, stddev] = rest.split(',').map(Number)
  return { type, mean, stddev }
}
