/**
 * Increases of cumulative series between scrapes, with resets: when a value falls below the last
 * one seen (a restarted replica starts again from 0), the increase is the new value itself, as
 * Prometheus' `increase()` counts it. A series seen for the first time gives no increase (what it
 * counted before the monitor started is not ours). Pure state keyed by a series id.
 */
export interface CounterStep {
  /** Increase since the previous observation of this series (0 on the first one). */
  readonly delta: number
  /** Whether the value dropped, i.e. the series was reset. */
  readonly reset: boolean
}

export class CounterDeltas {
  private readonly last = new Map<string, number>()

  observe(seriesId: string, value: number): CounterStep {
    if (!Number.isFinite(value)) return { delta: 0, reset: false }
    const prev = this.last.get(seriesId)
    this.last.set(seriesId, value)
    if (prev === undefined) return { delta: 0, reset: false }
    if (value < prev) return { delta: value, reset: true }
    return { delta: value - prev, reset: false }
  }

  /** Whether this series was seen before. */
  has(seriesId: string): boolean {
    return this.last.has(seriesId)
  }
}
