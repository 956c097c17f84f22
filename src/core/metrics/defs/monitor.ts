import { defineMetric, type MetricDef } from '../define-metric.js'

const counters = "Only in a `tokenwatt monitor` session: tokens come from the servers' own /metrics counters (increases between scrape rounds, resets counted from zero), never from a load generator."

export const monitorUtilization = defineMetric({
  id: 'monitor_utilization',
  title: 'Utilisation of measured capacity',
  kind: 'derived',
  unit: 'ratio',
  better: 'higher',
  summaryPath: 'monitor.utilization',
  requires: ['output_token_throughput'],
  doc: {
    summary: 'Output tokens/s of live traffic over the best output tokens/s a bench of the same system measured (`--capacity-from RUN`): "running at 41 % of its capacity".',
    formula: 'output_token_throughput (monitor window) / output_token_throughput (capacity run)',
    notes: [counters, 'Null without --capacity-from. Exported as tokenwatt_utilization_ratio{window}.'],
  },
})

export const monitorIdleShare = defineMetric({
  id: 'monitor_idle_share',
  title: 'Idle share',
  kind: 'aggregate',
  unit: 'ratio',
  better: 'lower',
  summaryPath: 'monitor.idleShare',
  doc: {
    summary: 'Share of the window spent in scrape rounds in which the servers generated no token and had nothing in flight.',
    formula: 'Σ round length where (output increase = 0 and in-flight gauge = 0 or absent) / window length',
    notes: [counters, 'Exported as tokenwatt_idle_ratio{window}.'],
  },
})

export const monitorCounterResets = defineMetric({
  id: 'monitor_counter_resets',
  title: 'Server counter resets',
  kind: 'aggregate',
  unit: 'count',
  better: 'lower',
  summaryPath: 'monitor.counterResets',
  doc: {
    summary: 'Times a replica\'s token or histogram counter went backwards (a restart) inside the window; each is counted from zero, as Prometheus increase() does.',
    formula: 'count of rounds where value < previous value, per series',
    notes: [counters, 'Exported as tokenwatt_server_counter_resets_total{target}.'],
  },
})

export const MONITOR_METRICS: readonly MetricDef[] = [monitorUtilization, monitorIdleShare, monitorCounterResets]
