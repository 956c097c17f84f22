import { z } from 'zod'
import { CostSchema } from './cost-schema.js'
import { DistributionSchema } from './distribution.js'
import { AttributionSchema, BoundarySchema, MeterSpecSchema } from './meters-schema.js'
import { SessionsSchema } from './sessions-schema.js'
import { TraceSchema } from './trace-schema.js'

/**
 * The one schema for `tokenwatt bench`: YAML files and CLI flags are merged as plain data and
 * validated here once. Unknown keys are rejected (strictObject), so a typo is an error, not a silent
 * default. Secrets are never values here: only the *names* of environment variables holding them.
 */

export const TargetSchema = z.strictObject({
  /** Base URL of the server, with or without a trailing /v1. Absent: the embedded local engine. */
  endpoint: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:8000' }).optional(),
  /** Model name to request. Absent: the first model the server lists. */
  model: z.string().min(1).optional(),
  api: z.enum(['chat', 'completions']).default('chat'),
  /** Name of the environment variable holding the API key (sent as a Bearer token). */
  apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').default('OPENAI_API_KEY'),
  /** Extra HTTP headers sent with every request. */
  headers: z.record(z.string(), z.string()).default({}),
  /** Send `ignore_eos: true` (vLLM, SGLang, llama.cpp) so every request generates max_tokens. */
  ignoreEos: z.boolean().default(false),
  /** Send `min_tokens` equal to max_tokens (vLLM). */
  minTokens: z.boolean().default(false),
  /** Extra fields merged into every request body (e.g. temperature). */
  extraBody: z.record(z.string(), z.unknown()).default({}),
  /** Ask for per-chunk usage (vLLM `stream_options.continuous_usage_stats`). */
  continuousUsage: z.boolean().default(false),
  /** Treat a response without server usage as a failed request (kind missing_usage). */
  requireUsage: z.boolean().default(false),
})

export const DatasetSchema = z.strictObject({
  path: z.string().min(1),
  format: z.enum(['jsonl', 'sharegpt']).default('jsonl'),
  /** Use the dataset's output lengths where it has them (else the `output` distribution). */
  useDatasetOutputLengths: z.boolean().default(true),
})

export const WorkloadSchema = z
  .strictObject({
    seed: z.number().int().nonnegative().default(42),
    input: DistributionSchema.default({ type: 'fixed', value: 256 }),
    output: DistributionSchema.default({ type: 'fixed', value: 128 }),
    /** Tokens of a prefix shared by every prompt (prefix-cache workloads). */
    sharedPrefixTokens: z.number().int().nonnegative().default(0),
    dataset: DatasetSchema.optional(),
    /** Multi-turn agentic sessions (the load then counts sessions, see sessions-schema.ts). */
    sessions: SessionsSchema.optional(),
    /** Replay a trace file at its own timestamps (replaces load:; see trace-schema.ts). */
    trace: TraceSchema.optional(),
    /** How prompt lengths are hit: the server's tokenize endpoint, probe requests, or a fixed estimate. */
    tokenizer: z.enum(['auto', 'server', 'probe', 'estimate']).default('auto'),
    /** Characters per token for the `estimate` tokenizer (and the fallback before calibration). */
    charsPerToken: z.number().positive().default(4),
  })

export const ClosedLoopSchema = z.strictObject({
  type: z.literal('closed-loop'),
  concurrency: z.number().int().positive().max(100_000),
})

export const OpenLoopSchema = z.strictObject({
  type: z.enum(['constant', 'poisson', 'gamma']),
  /** Requests per second. */
  rate: z.number().positive(),
  /** Gamma shape: 1 = Poisson, < 1 burstier, > 1 smoother. */
  burstiness: z.number().positive().default(1),
  /** Cap on requests in flight; arrivals beyond it are dropped and counted. */
  maxConcurrency: z.number().int().positive().default(10_000),
})

export const LoadSchema = z.discriminatedUnion('type', [ClosedLoopSchema, OpenLoopSchema])

export const StopSchema = z
  .strictObject({
    requests: z.number().int().positive().optional(),
    durationS: z.number().positive().optional(),
  })

export const TimeoutsSchema = z.strictObject({
  connectMs: z.number().positive().default(10_000),
  headersMs: z.number().positive().default(60_000),
  /** Longest silence allowed between two chunks. */
  idleMs: z.number().positive().default(60_000),
  totalMs: z.number().positive().default(600_000),
})

export const SloSchema = z.strictObject({
  ttftMs: z.number().positive().optional(),
  tpotMs: z.number().positive().optional(),
  e2eMs: z.number().positive().optional(),
  /** Percentile the run-level SLO verdict uses (per-request bounds decide goodput). */
  percentile: z.number().min(50).max(100).default(99),
  /** Minimum attainment (0..1) for the run to pass; below it the CLI exits 99. */
  minAttainment: z.number().min(0).max(1).optional(),
})

/** The embedded llama.cpp engine `bench` starts on loopback when no endpoint is given. */
export const LocalEngineSchema = z.strictObject({
  engine: z.enum(['node', 'llama-server']).default('node'),
  size: z.enum(['tiny', 'small', 'medium', 'large']).default('small'),
  quant: z.enum(['f16', 'q8_0']).default('f16'),
  /** Parallel sequences (slots) of the engine. */
  parallel: z.number().int().positive().default(8),
  threads: z.number().int().positive().default(1),
  /** Where generated models and the built llama-server are cached. */
  cacheDir: z.string().optional(),
})

export const BenchConfigSchema = z
  .strictObject({
    target: TargetSchema.prefault({}),
    workload: WorkloadSchema.prefault({}),
    load: LoadSchema.default({ type: 'closed-loop', concurrency: 1 }),
    stop: StopSchema.prefault({}),
    /** Requests sent before the measurement (connections warm, caches primed); excluded from results. */
    warmupRequests: z.number().int().nonnegative().default(0),
    timeouts: TimeoutsSchema.prefault({}),
    slo: SloSchema.prefault({}),
    /** Directory summary.json and the report go to (a run-id subfolder is made inside). */
    out: z.string().default('tokenwatt-runs'),
    /** SQLite file of the results store. Absent: the user's data directory. */
    store: z.string().optional(),
    /** Power meters read beside the load (issue 4). */
    meters: z.array(MeterSpecSchema).default([]),
    /** Boundary the headline efficiency figures are reported at. Absent: the lowest boundary a meter reads (device without meters). */
    boundary: BoundarySchema.optional(),
    /** Seconds of idle power measured before the load starts (0 = none). */
    idleS: z.number().nonnegative().default(0),
    /** How energy is carried from one boundary to the next (host share, PSU, PDU, PUE, provisioned power). */
    attribution: AttributionSchema.prefault({}),
    /** Cost model (issue 5). */
    cost: CostSchema.optional(),
    /** The embedded engine started when target.endpoint is absent. */
    local: LocalEngineSchema.prefault({}),
    /** Free-form labels stored with the run. */
    labels: z.record(z.string(), z.string()).default({}),
  })
  .superRefine((c, ctx) => {
    if (c.stop.requests === undefined && c.stop.durationS === undefined && c.workload.sessions?.count === undefined && c.workload.trace === undefined) {
      ctx.addIssue({ code: 'custom', path: ['stop'], message: 'give stop.requests or stop.durationS (--requests / --duration)' })
    }
    if (c.workload.sharedPrefixTokens > 0 && c.workload.dataset) {
      ctx.addIssue({ code: 'custom', path: ['workload', 'sharedPrefixTokens'], message: 'cannot be combined with a dataset' })
    }
    if (c.workload.trace !== undefined && (c.workload.dataset || c.workload.sessions)) {
      ctx.addIssue({ code: 'custom', path: ['workload', 'trace'], message: 'cannot be combined with a dataset or sessions (a trace brings its own requests)' })
    }
    if (c.workload.sessions !== undefined && c.workload.dataset) {
      ctx.addIssue({ code: 'custom', path: ['workload', 'sessions'], message: 'cannot be combined with a dataset (sessions make their own prompts)' })
    }
  })

export type BenchConfigInput = z.input<typeof BenchConfigSchema>
export type BenchConfig = z.output<typeof BenchConfigSchema>
