import { describe, EMPTY_STATS } from '../analysis/stats.js'
import { REQUEST_ERROR_KINDS } from '../records.js'
import { RUN_SCHEMA, type RunSummary, type Stats } from '../summary.js'
import type { ImportedRun } from './imported-run.js'

export interface ImportedSummaryInput {
  readonly run: ImportedRun
  readonly id: string
  readonly toolVersion: string
  /** The resolved config (boundary, attribution, cost), secrets removed. */
  readonly config: unknown
  /** Where the result came from, kept in the run as provenance. */
  readonly file: string
}

/** Stats from per-request samples, else the tool's own figures (its percentiles, or only its mean). */
function statsOf(samples: readonly number[], mean: number | null, tool: Stats | undefined): Stats {
  if (samples.length > 0) return describe(samples)
  if (tool !== undefined) return tool
  return mean === null ? EMPTY_STATS : { ...EMPTY_STATS, mean }
}

/**
 * The `tokenwatt.run/v1` summary of an imported result, before energy and cost (finishSummary adds
 * those over the same window). The window is the tool's whole benchmark span: its totals cover it,
 * and no steady-state cut can be made from totals. Pure.
 */
export function importedSummary(input: ImportedSummaryInput): RunSummary {
  const { run } = input
  const d = run.durationS
  const errorsByKind: Record<string, number> = {}
  for (const k of REQUEST_ERROR_KINDS) errorsByKind[k] = 0
  const failed = run.requests.failed ?? 0
  const warnings = [...run.warnings, ...run.unavailable.map((u) => `not in the ${run.tool.name} file: ${u}; those figures are null`)]
  if (run.requests.failed === null) warnings.push(`${run.tool.name} did not say how many requests failed`)
  if (!run.spanKnown) warnings.push(`the ${run.tool.name} file carries no wall-clock time: startedAt/endedAt are placeholders (pass --start ISO-TIME to place the run)`)
  const interactivity = run.samples.tpotMs.filter((t) => t > 0).map((t) => 1000 / t)
  return {
    schema: RUN_SCHEMA,
    id: input.id,
    startedAt: new Date(run.startWallMs).toISOString(),
    endedAt: new Date(run.startWallMs + d * 1000).toISOString(),
    status: 'complete',
    tool: { name: 'tokenwatt', version: input.toolVersion },
    target: { endpoint: run.endpoint ?? '', api: 'completions', model: run.model, server: run.tool.name },
    workload: null,
    config: input.config,
    window: { startS: 0, endS: d, durationS: d, method: 'imported-span' },
    requests: { total: run.requests.completed + failed, succeeded: run.requests.completed, failed, aborted: 0, warmup: 0, inWindow: run.requests.completed + failed, errorsByKind, missingUsage: 0, droppedArrivals: 0 },
    tokens: {
      input: run.tokens.input,
      output: run.tokens.output,
      source: run.tokenSource,
      inputPerRequest: describe(run.samples.inputTokens),
      outputPerRequest: describe(run.samples.outputTokens),
      targetInputMean: null,
      targetOutputMean: null,
    },
    throughput: {
      outputTokensPerS: d > 0 ? run.tokens.output / d : 0,
      totalTokensPerS: d > 0 ? (run.tokens.output + run.tokens.input) / d : 0,
      requestsPerS: d > 0 ? run.requests.completed / d : 0,
    },
    latency: {
      ttftMs: statsOf(run.samples.ttftMs, run.means.ttftMs, run.toolStats?.ttftMs),
      itlMs: statsOf(run.samples.itlMs, run.means.itlMs, run.toolStats?.itlMs),
      tpotMs: statsOf(run.samples.tpotMs, run.means.tpotMs, run.toolStats?.tpotMs),
      e2eMs: statsOf(run.samples.e2eMs, run.means.e2eMs, run.toolStats?.e2eMs),
      interactivityTokPerS: describe(interactivity),
    },
    slo: { attainment: null, goodputRequestsPerS: null, goodOutputTokensPerS: null, passed: null },
    load: {
      type: run.load.concurrency !== null ? 'closed-loop' : 'imported',
      concurrency: run.load.concurrency,
      rate: run.load.rate,
      scheduleLagMs: EMPTY_STATS,
      meanInFlight: null,
    },
    client: { connectionsOpened: 0, connectionsOpenedInWindow: 0, connectMs: EMPTY_STATS, cpuUtilization: null, eventLoopDelayP99Ms: null, limitedByClient: false },
    power: null,
    efficiency: null,
    cost: null,
    warnings,
    kind: 'imported',
    provenance: {
      tool: run.tool.name,
      version: run.tool.version,
      format: run.format,
      file: input.file,
      ...(run.benchmark !== null ? { benchmark: run.benchmark } : {}),
      unavailable: run.unavailable,
    },
  }
}
