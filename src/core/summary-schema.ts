import { z } from 'zod'
import { RUN_SCHEMA } from './summary.js'

/**
 * The JSON Schema source of `tokenwatt.run/v1` (docs/schema/run.schema.json is generated from it).
 * It mirrors the RunSummary type; a test validates real summaries against it so the two cannot drift.
 * Objects are open (`loose`): v1 may gain fields, never lose or rename them.
 */
const num = z.number()
const nnum = z.number().nullable()
const StatsSchema = z
  .looseObject({ count: z.number().int().nonnegative(), mean: nnum, p50: nnum, p90: nnum, p95: nnum, p99: nnum, max: nnum, min: nnum, stddev: nnum })
  .describe('mean/p50/p90/p95/p99/max of one metric; null when there were no samples')
const IntervalSchema = z.looseObject({ low: num, high: num }).nullable()
const Boundary = z.enum(['device', 'node', 'rack', 'cluster', 'facility'])
const SiteEnergySchema = z.looseObject({
  name: z.string(),
  energyJ: z.number().nullable(),
  avgW: z.number().nullable(),
  interval: z.object({ low: z.number(), high: z.number() }).nullable(),
  source: z.enum(['measured', 'modeled']).nullable(),
  meters: z.array(z.string()),
  reason: z.string().nullable(),
})
const figure = (d: string) => nnum.describe(d)

const PhaseFigureSchema = z.looseObject({ total: nnum, dynamic: nnum, totalInterval: IntervalSchema, dynamicInterval: IntervalSchema })

export const RunSummarySchema = z
  .looseObject({
    schema: z.literal(RUN_SCHEMA),
    id: z.string(),
    startedAt: z.string().describe('ISO 8601'),
    endedAt: z.string().describe('ISO 8601'),
    status: z.enum(['complete', 'interrupted', 'failed']),
    tool: z.looseObject({ name: z.literal('tokenwatt'), version: z.string() }),
    target: z.looseObject({ endpoint: z.string(), api: z.enum(['chat', 'completions']), model: z.string(), server: z.string().nullable() }),
    workload: z.unknown(),
    config: z.unknown().describe('the resolved config, secrets removed'),
    window: z.looseObject({ startS: num, endS: num, durationS: num, method: z.string(), powerTrimS: num.optional().describe('settlePower runs: seconds the window start moved on for power to settle') }).describe('the steady window, seconds from run start'),
    requests: z.looseObject({
      total: num,
      succeeded: num,
      failed: num,
      aborted: num.optional().describe('cancelled by the run itself (Ctrl-C): neither succeeded nor failed'),
      warmup: num,
      inWindow: num,
      errorsByKind: z.record(z.string(), num),
      missingUsage: num,
      droppedArrivals: num,
    }),
    tokens: z.looseObject({
      input: num,
      output: num,
      source: z.enum(['server-usage', 'server-chunk-usage', 'client-count', 'mixed', 'server-counters']),
      inputPerRequest: StatsSchema,
      outputPerRequest: StatsSchema,
      targetInputMean: nnum,
      targetOutputMean: nnum,
    }),
    throughput: z.looseObject({ outputTokensPerS: num, totalTokensPerS: num, requestsPerS: num }),
    latency: z.looseObject({ ttftMs: StatsSchema, itlMs: StatsSchema, tpotMs: StatsSchema, e2eMs: StatsSchema, interactivityTokPerS: StatsSchema }),
    slo: z.looseObject({
      ttftMs: num.optional(),
      tpotMs: num.optional(),
      e2eMs: num.optional(),
      attainment: nnum,
      goodputRequestsPerS: nnum,
      goodOutputTokensPerS: nnum,
      passed: z.boolean().nullable(),
    }),
    load: z.looseObject({ type: z.string(), concurrency: nnum, rate: nnum, scheduleLagMs: StatsSchema, meanInFlight: nnum }),
    client: z.looseObject({
      connectionsOpened: num,
      connectionsOpenedInWindow: num,
      connectMs: StatsSchema,
      staleConnectionRetries: num.optional().describe('requests resent once because the server had silently closed their keep-alive connection'),
      cpuUtilization: nnum,
      eventLoopDelayP99Ms: nnum,
      limitedByClient: z.boolean(),
      workers: z
        .looseObject({ count: num, mode: z.enum(['fixed', 'auto']), utilization: z.array(num), added: z.array(z.looseObject({ atS: num, reason: z.string() })) })
        .optional()
        .describe('--workers: the load threads, the share of the measured span each one\'s event loop was busy, and the threads `auto` added'),
      chunkTimestamps: z
        .looseObject({ source: z.string(), clock: z.string(), includes: z.string(), fallback: z.string().optional() })
        .optional()
        .describe('where and with which clock stream chunks were stamped (kernel-rx: the kernel\'s receive time of each socket read; http-read: as the HTTP parser hands over each socket read, before SSE parsing) and, for http-read, why not kernel-rx'),
    }),
    power: z
      .looseObject({
        boundary: Boundary,
        avgW: figure('average power in the window at the boundary (W)'),
        energyJ: figure('energy in the window at the boundary (J)'),
        coverage: nnum,
        interval: IntervalSchema,
        measured: z.array(z.string()),
        modeled: z.array(z.string()),
        meters: z.array(z.looseObject({ id: z.string(), kind: z.string(), boundary: Boundary, measured: z.boolean(), avgW: nnum, energyJ: nnum })),
        coverageCheck: z
          .looseObject({ verdict: z.enum(['valid', 'invalid']), expectNodes: nnum, expectDevices: nnum, nodes: z.array(z.string()), devices: z.number(), reasons: z.array(z.string()) })
          .optional()
          .describe('with coverage.expectNodes/expectDevices: whether every node and device had readings across the window; invalid makes efficiency null'),
        byNode: z.array(SiteEnergySchema).optional().describe('energy per node (meter node labels) at the node boundary, each through the same attribution; present when the meters name two or more nodes'),
        byRack: z.array(SiteEnergySchema).optional().describe('energy per rack (meter rack labels) at the rack boundary; present when the meters name two or more racks'),
      })
      .nullable(),
    efficiency: z
      .looseObject({
        boundary: Boundary,
        outputTokensPerJoule: nnum,
        totalTokensPerJoule: nnum,
        joulesPerOutputToken: nnum,
        joulesPerToken: nnum,
        outputTokensPerSPerMW: nnum,
        outputTokensPerSPerProvisionedMW: nnum,
        interval: IntervalSchema,
        measured: z.array(z.string()),
        modeled: z.array(z.string()),
        joulesPerInputToken: PhaseFigureSchema.optional().describe('prefill energy per input token prefilled (cached prompt tokens excluded): total (idle share included) and dynamic (above idle), with intervals'),
        joulesPerOutputTokenDecode: PhaseFigureSchema.optional().describe('decode energy per output token after each request\'s first: total and dynamic, with intervals'),
        phases: z
          .looseObject({
            method: z.enum(['fit', 'time-share', 'pools']),
            modelled: z.boolean(),
            reason: z.string().nullable(),
            meterId: z.string(),
            prefillWPerRequest: num,
            decodeWPerRequest: num,
            prefillEnergyShare: num,
            prefillTimeShare: num,
            inputTokens: num,
            cachedInputTokens: num,
            decodeTokens: num,
          })
          .optional()
          .describe('energy by phase: how it was attributed (fit, or a declared time-share split when modelled) and its inputs'),
      })
      .nullable(),
    cost: z
      .looseObject({
        currency: z.literal('USD'),
        usdPerMillionOutputTokens: nnum,
        usdPerMillionInputTokens: nnum,
        usdPerMillionTokensBlended: nnum,
        usdPerHour: z.record(z.string(), num),
        utilization: num,
      })
      .nullable(),
    validity: z
      .looseObject({
        verdict: z.enum(['valid', 'invalid']),
        errorRate: nnum.describe('failed / (succeeded + failed) of the measured requests'),
        maxErrorRate: num,
        reasons: z.array(z.string()),
      })
      .optional()
      .describe('invalid when more of the measured requests failed than maxErrorRate allows (--max-error-rate); absent in runs made before it existed'),
    tasks: z
      .looseObject({
        started: num,
        completed: num,
        failed: num,
        incomplete: num,
        inWindow: num.describe('completed tasks whose last byte fell inside the steady window'),
        latencyMs: StatsSchema.describe('task latency: first send → last byte of the last turn (ms)'),
        turnsPerTask: StatsSchema,
        requestsPerTask: StatsSchema,
        inputTokensPerTask: StatsSchema,
        outputTokensPerTask: StatsSchema,
        tasksPerS: nnum,
        joulesPerTask: figure('boundary energy in the window ÷ tasks completed in it (J)'),
        usdPerTask: figure('cost per hour ÷ (tasks per hour × utilization) (USD)'),
        boundary: Boundary.nullable(),
        slo: z.looseObject({ turnSlo: z.boolean(), taskLatencyMs: nnum, attainment: nnum, goodTasksPerS: nnum, goodTasksPerSPerMW: nnum }),
        prefixHitShare: figure('cached prompt tokens ÷ prompt tokens, over requests that reported cached tokens'),
        cachedTokensReported: num,
        byTurn: z.array(z.looseObject({ turn: num, requests: num, ttftMs: StatsSchema, inputTokensMean: nnum, prefixHitShare: nnum })),
        sessionsInWindow: z.array(num).optional().describe('session ids of the tasks counted in the window (what compare re-judges at a common task SLO)'),
      })
      .nullable()
      .optional()
      .describe('session workloads only: each session is one task'),
    warnings: z.array(z.string()),
    kind: z.enum(['bench', 'monitor', 'imported']).optional().describe('absent (or bench) for bench runs; monitor for a `tokenwatt monitor` session; imported for a result another tool produced'),
    provenance: z.looseObject({ tool: z.string(), version: z.string(), format: z.string(), file: z.string(), benchmark: z.string().optional().describe('which benchmark of a multi-benchmark file (GuideLLM sweep point, GenAI-Perf experiment)'), unavailable: z.array(z.string()).optional().describe('figures the file does not carry, null in this run') }).optional().describe('imported runs: which tool, version, format and file'),
    monitor: z.looseObject({}).optional().describe("a monitor session's replicas, rolling windows, idle share, utilisation and alerts"),
  })
  .describe('One tokenwatt run: tokenwatt.run/v1. A figure that could not be measured is null with a warning saying why.')
