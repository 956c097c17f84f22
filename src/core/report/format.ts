/**
 * Number formatting for reports: a fixed number of significant digits, thousands separators, and
 * an explicit "n/a" for figures that could not be measured (never a silent 0).
 */
export const NOT_AVAILABLE = 'n/a'

/** Formats to `digits` significant digits (default 3; no trailing zeros), grouping thousands: 1234567 → "1,234,567". */
export function formatNumber(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return NOT_AVAILABLE
  if (value === 0) return '0'
  const abs = Math.abs(value)
  if (abs >= 1e15 || abs < 1e-6) return value.toExponential(digits - 1)
  const magnitude = Math.floor(Math.log10(abs))
  const decimals = Math.max(0, digits - 1 - magnitude)
  const rounded = Number(value.toFixed(Math.min(decimals, 20)))
  return rounded.toLocaleString('en-US', { maximumFractionDigits: decimals })
}

/** Large counts and rates with SI suffixes: 2.5e6 → "2.50 M". */
export function formatSi(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return NOT_AVAILABLE
  const abs = Math.abs(value)
  const steps: readonly (readonly [number, string])[] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ]
  for (const [f, s] of steps) if (abs >= f) return `${formatNumber(value / f, digits)} ${s}`
  return formatNumber(value, digits)
}

/** Money: whole dollars from $10,000, cents from $1, three significant digits below, SI from $1M. */
export function formatUsd(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return NOT_AVAILABLE
  const abs = Math.abs(value)
  const sign = value < 0 ? '−' : ''
  if (abs >= 1e6) return `${sign}$${formatSi(abs, 3)}`
  if (abs >= 10_000) return `${sign}$${abs.toLocaleString('en-US', { maximumFractionDigits: 0 })}`
  if (abs >= 1) return `${sign}$${abs.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`
  // below $1: three significant digits, never fewer than two decimals ($0.30, $0.0513)
  const decimals = Math.min(20, Math.max(2, 2 - Math.floor(Math.log10(abs))))
  return abs < 1e-6 ? `${sign}$${abs.toExponential(2)}` : `${sign}$${abs.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: decimals })}`
}

export function formatPercent(share: number | null | undefined, digits = 3): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return NOT_AVAILABLE
  return `${formatNumber(share * 100, digits)} %`
}

/** A value with its unit, the way every report renders it. */
export function formatWithUnit(value: number | null | undefined, unit: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return NOT_AVAILABLE
  if (unit === 'USD') return formatUsd(value)
  if (unit.startsWith('USD/')) return `${formatUsd(value)}/${unit.slice(4)}`
  if (unit === '%') return formatPercent(value)
  const big = Math.abs(value) >= 1e5
  return `${big ? formatSi(value) : formatNumber(value)} ${unit}`.replace(/ $/, '')
}

/** Whole counts: 26128 → "26,128". */
export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return NOT_AVAILABLE
  return Math.round(value).toLocaleString('en-US')
}
