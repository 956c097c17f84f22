/** Numbers as the page shows them: three significant digits, thousands grouped, n/a for missing. */
export function num(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'n/a'
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US')
  return Number(v.toPrecision(digits)).toString()
}

export function count(v: number | null | undefined): string {
  return v === null || v === undefined ? 'n/a' : Math.round(v).toLocaleString('en-US')
}
