/**
 * The monitor's pure state: every scrape round of every replica goes in, one `MonitorTick` comes out
 * with the tokens counted since the previous round (counter increases with resets), the in-flight
 * gauge and the latency histograms' bucket increases. Replicas that fail a scrape, reset a counter or
 * lack a preset's metrics are counted per replica, so the CLI, the exporter and the summary show it.
 */
import { CounterDeltas } from './counter-delta.js'
import { labelKey } from './exposition.js'
import { parseLe } from './histogram-quantile.js'
import { LATENCY_KINDS, type LatencyKind, type ServerMetricsMapping } from './server-presets.js'

export interface SeriesValue {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** One replica's answer in one round: its samples, or why there were none. */
export interface TargetScrape {
  /** The replica: its /metrics URL, or the `instance` label through Prometheus. */
  readonly target: string
  readonly ok: boolean
  readonly error: string | null
  readonly samples: readonly SeriesValue[]
  /** Lines of the body that did not parse. */
  readonly parseErrors: number
}

export interface MonitorTick {
  /** When the round's values were read (ns from the session epoch). */
  readonly atNs: number
  /** Output and input tokens the servers counted since the previous round, all replicas. */
  readonly outputTokens: number
  readonly inputTokens: number
  /** Sum of the replicas' in-flight gauges, or null when the mapping has none or none answered. */
  readonly running: number | null
  /** Bucket upper bound (s) → observations added since the previous round. */
  readonly histograms: Readonly<Record<LatencyKind, ReadonlyMap<number, number>>>
  readonly targetsUp: number
  readonly targetsDown: number
  readonly resets: number
}

export interface TargetStatus {
  readonly target: string
  up: boolean
  scrapes: number
  scrapeErrors: number
  counterResets: number
  parseErrors: number
  lastError: string | null
  /** Rounds in which the replica answered without the output-token series. */
  missingOutputMetric: number
  outputTokens: number
  inputTokens: number
}

export class MonitorState {
  private readonly counters = new CounterDeltas()
  private readonly status = new Map<string, TargetStatus>()
  private readonly ticks: MonitorTick[] = []

  constructor(private readonly mapping: ServerMetricsMapping) {}

  /** Takes one round of scrapes; returns the tick it adds. */
  ingest(atNs: number, scrapes: readonly TargetScrape[]): MonitorTick {
    let output = 0
    let input = 0
    let running: number | null = null
    let resets = 0
    let up = 0
    const histograms = { ttft: new Map<number, number>(), itl: new Map<number, number>(), e2e: new Map<number, number>() }
    for (const s of scrapes) {
      const st = this.statusOf(s.target)
      st.scrapes++
      st.parseErrors += s.parseErrors
      st.up = s.ok
      if (!s.ok) {
        st.scrapeErrors++
        st.lastError = s.error
        continue
      }
      up++
      const out = this.sumIncrease(s, this.mapping.outputTokens.metric)
      if (!out.seen) st.missingOutputMetric++
      const inp = this.mapping.inputTokens ? this.sumIncrease(s, this.mapping.inputTokens.metric) : { delta: 0, resets: 0, seen: false }
      output += out.delta
      input += inp.delta
      st.outputTokens += out.delta
      st.inputTokens += inp.delta
      let targetResets = out.resets + inp.resets
      if (this.mapping.running) {
        for (const v of s.samples) if (v.name === this.mapping.running && Number.isFinite(v.value)) running = (running ?? 0) + v.value
      }
      for (const kind of LATENCY_KINDS) {
        const family = this.mapping[kind]
        if (family === null) continue
        const bucketName = `${family}_bucket`
        for (const v of s.samples) {
          if (v.name !== bucketName) continue
          const le = parseLe(v.labels.le)
          if (le === null) continue
          const step = this.counters.observe(`${s.target}|${bucketName}|${labelKey(v.labels)}`, v.value)
          if (step.reset && le === Infinity) targetResets++
          histograms[kind].set(le, (histograms[kind].get(le) ?? 0) + step.delta)
        }
      }
      st.counterResets += targetResets
      resets += targetResets
    }
    const tick: MonitorTick = { atNs, outputTokens: output, inputTokens: input, running, histograms, targetsUp: up, targetsDown: scrapes.length - up, resets }
    this.ticks.push(tick)
    return tick
  }

  allTicks(): readonly MonitorTick[] {
    return this.ticks
  }

  targets(): readonly TargetStatus[] {
    return [...this.status.values()]
  }

  private statusOf(target: string): TargetStatus {
    let st = this.status.get(target)
    if (!st) {
      st = { target, up: false, scrapes: 0, scrapeErrors: 0, counterResets: 0, parseErrors: 0, lastError: null, missingOutputMetric: 0, outputTokens: 0, inputTokens: 0 }
      this.status.set(target, st)
    }
    return st
  }

  /** Increase of every series named `metric` on one replica (label sets are kept apart). */
  private sumIncrease(s: TargetScrape, metric: string): { delta: number; resets: number; seen: boolean } {
    let delta = 0
    let resets = 0
    let seen = false
    for (const v of s.samples) {
      if (v.name !== metric) continue
      seen = true
      const step = this.counters.observe(`${s.target}|${metric}|${labelKey(v.labels)}`, v.value)
      delta += step.delta
      if (step.reset) resets++
    }
    return { delta, resets, seen }
  }
}
