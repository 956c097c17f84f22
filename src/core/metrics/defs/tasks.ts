import { defineMetric } from '../define-metric.js'

const task = 'A task is one session (workload.sessions): all its planned turns and fan-out children sent and succeeded. Task figures are over tasks whose last byte fell inside the steady window.'
const window = 'The steady window in session terms: from when the sessions in flight reach load.concurrency (closed loop) or the first session start (open loop) to the last session start, then MSER-5.'

export const taskLatency = defineMetric({
  id: 'task_latency',
  title: 'Task latency',
  kind: 'distribution',
  unit: 'ms',
  better: 'lower',
  summaryPath: 'tasks.latencyMs',
  doc: { summary: 'Time from the first send of a session to the last byte of its last turn, think times included.', formula: 'max(last_byte) − min(sent) over the requests of one task', notes: [task] },
})

export const turnsPerTask = defineMetric({
  id: 'turns_per_task',
  title: 'Turns per task',
  kind: 'distribution',
  unit: 'turns',
  better: 'none',
  summaryPath: 'tasks.turnsPerTask',
  doc: { summary: 'Turns of each completed task (fan-out children not counted as turns).', formula: 'planned turns of the session', notes: [task] },
})

export const inputTokensPerTask = defineMetric({
  id: 'input_tokens_per_task',
  title: 'Input tokens per task',
  kind: 'distribution',
  unit: 'tokens',
  better: 'none',
  summaryPath: 'tasks.inputTokensPerTask',
  doc: { summary: 'Prompt tokens a task sent over all its requests: the growing context is paid again each turn (less what the prefix cache serves).', formula: 'Σ input_tokens over the requests of one task', notes: [task] },
})

export const outputTokensPerTask = defineMetric({
  id: 'output_tokens_per_task',
  title: 'Output tokens per task',
  kind: 'distribution',
  unit: 'tokens',
  better: 'none',
  summaryPath: 'tasks.outputTokensPerTask',
  doc: { summary: 'Tokens generated over all requests of a task, fan-out children included.', formula: 'Σ output_tokens over the requests of one task', notes: [task] },
})

export const taskThroughput = defineMetric({
  id: 'task_throughput',
  title: 'Task throughput',
  kind: 'aggregate',
  unit: 'tasks/s',
  better: 'higher',
  summaryPath: 'tasks.tasksPerS',
  requires: ['window_duration'],
  doc: { summary: 'Tasks completed per second in the steady window.', formula: 'tasks_completed_in_window / window_duration', notes: [task, window] },
})

export const energyPerTask = defineMetric({
  id: 'energy_per_task',
  title: 'Energy per task',
  kind: 'derived',
  unit: 'J/task',
  better: 'lower',
  summaryPath: 'tasks.joulesPerTask',
  requires: ['window_energy', 'task_throughput'],
  doc: {
    summary: 'Energy at the chosen boundary per completed task (the session-level counterpart of J/token).',
    formula: 'window_energy / tasks_completed_in_window  (= average_power / task_throughput)',
    notes: [task, 'At the boundary in tasks.boundary (the headline boundary of the run); null without a meter.'],
  },
})

export const costPerTask = defineMetric({
  id: 'cost_per_task',
  title: 'Cost per task',
  kind: 'derived',
  unit: 'USD/task',
  better: 'lower',
  summaryPath: 'tasks.usdPerTask',
  requires: ['cost_per_hour', 'task_throughput'],
  doc: { summary: 'What one completed task costs at the measured task throughput.', formula: 'cost_per_hour / (task_throughput × 3600 × utilization)', notes: [task, 'Same cost model and utilization as $/Mtok.'] },
})

export const taskSloAttainment = defineMetric({
  id: 'task_slo_attainment',
  title: 'Task SLO attainment',
  kind: 'aggregate',
  unit: '1',
  better: 'higher',
  summaryPath: 'tasks.slo.attainment',
  doc: {
    summary: 'Share of tasks that met the task SLO: every request met the per-request SLO (slo:) and/or the whole task ended within workload.sessions.taskLatencyMs.',
    formula: 'good_tasks_in_window / tasks_completed_in_window',
    notes: [task, 'Null when neither a per-request bound nor a task bound is set.'],
  },
})

export const goodTaskThroughput = defineMetric({
  id: 'good_task_throughput',
  title: 'Good task throughput',
  kind: 'aggregate',
  unit: 'tasks/s',
  better: 'higher',
  summaryPath: 'tasks.slo.goodTasksPerS',
  requires: ['window_duration'],
  doc: { summary: 'Tasks that met the task SLO, per second of the steady window (task goodput).', formula: 'good_tasks_in_window / window_duration', notes: [task] },
})

export const goodTasksPerSPerMW = defineMetric({
  id: 'good_tasks_per_s_per_mw',
  title: 'Good tasks per second per MW',
  kind: 'derived',
  unit: 'tasks/s/MW',
  better: 'higher',
  summaryPath: 'tasks.slo.goodTasksPerSPerMW',
  requires: ['good_task_throughput', 'average_power'],
  doc: { summary: 'Task goodput per megawatt of average power at the boundary.', formula: 'good_task_throughput / (average_power / 1e6)', notes: [task] },
})

export const prefixHitShare = defineMetric({
  id: 'prefix_hit_share',
  title: 'Prefix-cache hit share',
  kind: 'aggregate',
  unit: '1',
  better: 'higher',
  summaryPath: 'tasks.prefixHitShare',
  doc: {
    summary: 'Share of prompt tokens the server served from its prefix cache, as it reported them.',
    formula: 'Σ cached_tokens / Σ prompt_tokens over requests of completed tasks that reported cached tokens',
    notes: [
      'cached_tokens is usage.prompt_tokens_details.cached_tokens (OpenAI, vLLM with --enable-prompt-tokens-details, SGLang, recent llama.cpp), else llama.cpp timings.cache_n or tokens_cached.',
      'Per turn index in tasks.byTurn[].prefixHitShare, beside tasks.byTurn[].ttftMs (TTFT by turn index).',
    ],
  },
})

export const TASK_METRICS = [
  taskLatency,
  turnsPerTask,
  inputTokensPerTask,
  outputTokensPerTask,
  taskThroughput,
  energyPerTask,
  costPerTask,
  taskSloAttainment,
  goodTaskThroughput,
  goodTasksPerSPerMW,
  prefixHitShare,
]
