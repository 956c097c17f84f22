import type { TargetScrape } from './monitor-state.js'

/**
 * The port the monitor reads the servers' counters through: each replica's `/metrics` scraped
 * directly, or the same series from a Prometheus that scrapes them. `round()` never rejects: a
 * replica (or Prometheus) that does not answer comes back as a failed `TargetScrape`.
 */
export interface ServerMetricsSource {
  /** e.g. `2 replica(s) scraped directly` or `Prometheus at http://prom:9090`. */
  readonly description: string
  /** Reads once; throws PreflightError with a hint when no replica answers or none has the series. */
  preflight(): Promise<readonly TargetScrape[]>
  /** One scrape round: when it was read (ns from the session epoch) and every replica's answer. */
  round(): Promise<{ readonly atNs: number; readonly scrapes: readonly TargetScrape[] }>
  close(): Promise<void>
}
