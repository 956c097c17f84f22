import type { MetricDef } from './define-metric.js'
import { COST_METRICS } from './defs/cost.js'
import { ENERGY_METRICS } from './defs/energy.js'
import { LATENCY_METRICS } from './defs/latency.js'
import { MONITOR_METRICS } from './defs/monitor.js'
import { PHASE_METRICS } from './defs/phases.js'
import { TASK_METRICS } from './defs/tasks.js'
import { THROUGHPUT_METRICS } from './defs/throughput.js'

/** Every metric tokenwatt reports, as an explicit list (no discovery). */
export const BUILTIN_METRICS: readonly MetricDef[] = [...LATENCY_METRICS, ...THROUGHPUT_METRICS, ...ENERGY_METRICS, ...PHASE_METRICS, ...COST_METRICS, ...MONITOR_METRICS, ...TASK_METRICS]
