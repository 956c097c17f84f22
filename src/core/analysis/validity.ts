import type { RunSummary } from '../summary.js'

/** Default largest share of measured requests that may fail before a run is `invalid`. */
export const DEFAULT_MAX_ERROR_RATE = 0.05

/**
 * Whether a run's figures stand for the system or for its failures. Like MLPerf's validity rules, a
 * run is judged before its figures are trusted: when more than `maxErrorRate` of the measured
 * requests failed (or none succeeded), the run is `invalid`. Every record is kept either way; the
 * verdict only says not to quote it. Requests the run itself cancelled (Ctrl-C) are not failures.
 */
export function judgeValidity(requests: { readonly succeeded: number; readonly failed: number }, maxErrorRate: number): NonNullable<RunSummary['validity']> {
  const decided = requests.succeeded + requests.failed
  const errorRate = decided > 0 ? requests.failed / decided : null
  const reasons: string[] = []
  if (decided === 0) reasons.push('no measured request finished')
  else if (requests.succeeded === 0) reasons.push(`all ${requests.failed} measured request(s) failed`)
  else if (errorRate !== null && errorRate > maxErrorRate) {
    reasons.push(`${requests.failed} of ${decided} measured requests failed (${pct(errorRate)}), above the maximum error rate ${pct(maxErrorRate)}`)
  }
  return { verdict: reasons.length === 0 ? 'valid' : 'invalid', errorRate, maxErrorRate, reasons }
}

function pct(x: number): string {
  return `${(100 * x).toFixed(x < 0.1 ? 1 : 0)}%`
}
