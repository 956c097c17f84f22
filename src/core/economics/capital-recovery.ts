/** Hours in a (non-leap) year: the basis for turning annual figures into hourly ones. */
export const HOURS_PER_YEAR = 8760
/** Average hours in a month (8760 / 12), for prices quoted per month. */
export const HOURS_PER_MONTH = HOURS_PER_YEAR / 12

/**
 * Capital recovery factor: the share of an investment to pay each year so that, at annual cost of
 * capital `rate`, it is repaid over `years` (an annuity). With rate 0 it is straight-line, 1/years.
 *
 * @example
 * capitalRecoveryFactor(0.08, 4) // ≈ 0.30192: $100k of servers costs ~$30.2k a year for 4 years
 */
export function capitalRecoveryFactor(rate: number, years: number): number {
  if (!(years > 0)) throw new RangeError(`depreciation life must be > 0 years, got ${years}`)
  if (!(rate >= 0)) throw new RangeError(`cost of capital must be >= 0, got ${rate}`)
  if (rate === 0) return 1 / years
  const growth = (1 + rate) ** years
  return (rate * growth) / (growth - 1)
}
