import { z } from 'zod'
import { DEFAULT_MAX_ERROR_RATE } from '../analysis/validity.js'
import { CostSchema } from './cost-schema.js'
import { DistributionSchema } from './distribution.js'
import { AttributionSchema, BoundarySchema } from './meters-schema.js'
import { MeterListSchema } from './meter-list.js'
import { SessionsSchema } from './sessions-schema.js'
import { TraceSchema } from './trace-schema.js'

/**
 * The one schema for `tokenwatt bench`: YAML files and CLI flags are merged as plain data and
 * validated here once. Unknown keys are rejected (strictObject), so a typo is an error, not a silent
 * default. Secrets are never values here: only the *names* of environment variables holding them.
 */

export const TargetSchema = z.strictObject({
  endpoint: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:8000' }).optional().describe('Base URL of the server, with or without a trailing /v1. Absent: the embedded local engine.'),
  model: z.string().min(1).optional().describe('Model name to request. Absent: the first model the server lists.'),
  api: z.enum(['chat', 'completions']).default('chat').describe('Which OpenAI API to call: /v1/chat/completions or /v1/completions.'),
  apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').default('OPENAI_API_KEY').describe('Name of the environment variable holding the API key (sent as a Bearer token).'),
  headers: z.record(z.string(), z.string()).default({}).describe('Extra HTTP headers sent with every request.'),
  ignoreEos: z.boolean().default(false).describe('Send `ignore_eos: true` (vLLM, SGLang, llama.cpp) so every request generates max_tokens.'),
  minTokens: z.boolean().default(false).describe('Send `min_tokens` equal to max_tokens (vLLM).'),
  extraBody: z.record(z.string(), z.unknown()).default({}).describe('Extra fields merged into every request body (e.g. temperature).'),
  continuousUsage: z.boolean().default(false).describe('Ask for per-chunk usage (vLLM `stream_options.continuous_usage_stats`).'),
  requireUsage: z.boolean().default(false).describe('Treat a response without server usage as a failed request (kind missing_usage).'),
  chunkStamps: z
    .enum(['auto', 'kernel', 'read'])
    .default('auto')
    .describe('How stream chunks are timestamped. auto: the kernel\'s receive time of each read (SO_TIMESTAMPNS) on plain-HTTP connections where the host allows it (Linux x86-64/arm64, glibc), else when read; kernel: those or an error; read: when undici hands over each read (includes the client\'s own delays). The summary says which was used.'),
})

export const DatasetSchema = z.strictObject({
  path: z.string().min(1).describe('JSONL or ShareGPT file of prompts, relative to the working directory.'),
  format: z.enum(['jsonl', 'sharegpt']).default('jsonl').describe('jsonl: one {prompt} or {messages} per line; sharegpt: a ShareGPT JSON array.'),
  useDatasetOutputLengths: z.boolean().default(true).describe('Use the dataset\'s output lengths where it has them (else the `output` distribution).'),
})

export const WorkloadSchema = z
  .strictObject({
    seed: z.number().int().nonnegative().default(42).describe('Seed of every random draw (lengths, prompts, arrivals): the same seed sends the same workload.'),
    input: DistributionSchema.default({ type: 'fixed', value: 256 }).describe('Prompt length in tokens: a number, or {type: uniform|normal|lognormal, …} (default 256).'),
    output: DistributionSchema.default({ type: 'fixed', value: 128 }).describe('Output length (max_tokens) in tokens: a number or a distribution (default 128).'),
    sharedPrefixTokens: z.number().int().nonnegative().default(0).describe('Tokens of a prefix shared by every prompt (prefix-cache workloads).'),
    dataset: DatasetSchema.optional().describe('Prompts from a file instead of synthetic ones.'),
    sessions: SessionsSchema.optional().describe('Multi-turn agentic sessions (the load then counts sessions, see sessions-schema.ts).'),
    trace: TraceSchema.optional().describe('Replay a trace file at its own timestamps (replaces load:; see trace-schema.ts).'),
    tokenizer: z.enum(['auto', 'server', 'probe', 'estimate']).default('auto').describe('How prompt lengths are hit: the server\'s tokenize endpoint, probe requests, or a fixed estimate.'),
    charsPerToken: z.number().positive().default(4).describe('Characters per token for the `estimate` tokenizer (and the fallback before calibration).'),
  })

export const ClosedLoopSchema = z.strictObject({
  type: z.literal('closed-loop').describe('Closed loop: `concurrency` users each send their next request when the previous one ends.'),
  concurrency: z.number().int().positive().max(100_000).describe('Users (requests in flight) of the closed loop.'),
})

export const OpenLoopSchema = z.strictObject({
  type: z.enum(['constant', 'poisson', 'gamma']).describe('Open loop: arrivals at absolute times, evenly spaced (constant) or random (poisson, gamma).'),
  rate: z.number().positive().describe('Requests per second.'),
  burstiness: z.number().positive().default(1).describe('Gamma shape: 1 = Poisson, < 1 burstier, > 1 smoother.'),
  maxConcurrency: z.number().int().positive().default(10_000).describe('Cap on requests in flight; arrivals beyond it are dropped and counted.'),
})

export const LoadSchema = z.discriminatedUnion('type', [ClosedLoopSchema, OpenLoopSchema])

export const StopSchema = z
  .strictObject({
    requests: z.number().int().positive().optional().describe('Stop after this many measured requests (warmup excluded).'),
    durationS: z.number().positive().optional().describe('Stop sending after this many seconds; requests in flight finish.'),
  })

export const TimeoutsSchema = z.strictObject({
  connectMs: z.number().positive().default(10_000).describe('Longest a TCP/TLS connection may take to open.'),
  headersMs: z.number().positive().default(60_000).describe('Longest wait for the response headers after sending.'),
  idleMs: z.number().positive().default(60_000).describe('Longest silence allowed between two chunks.'),
  totalMs: z.number().positive().default(600_000).describe('Longest a request may take in all.'),
})

export const SloSchema = z.strictObject({
  ttftMs: z.number().positive().optional().describe('SLO bound on time to first token (ms) per request.'),
  tpotMs: z.number().positive().optional().describe('SLO bound on time per output token (ms) per request.'),
  e2eMs: z.number().positive().optional().describe('SLO bound on end-to-end latency (ms) per request.'),
  percentile: z.number().min(50).max(100).default(99).describe('Percentile the run-level SLO verdict uses (per-request bounds decide goodput).'),
  minAttainment: z.number().min(0).max(1).optional().describe('Minimum attainment (0..1) for the run to pass; below it the CLI exits 99.'),
})

/** The embedded llama.cpp engine `bench` starts on loopback when no endpoint is given. */
export const LocalEngineSchema = z.strictObject({
  engine: z.enum(['node', 'llama-server']).default('node').describe('node: llama.cpp in-process through node-llama-cpp; llama-server: upstream llama.cpp server (built once).'),
  size: z.enum(['tiny', 'small', 'medium', 'large']).default('small').describe('Size of the generated model.'),
  quant: z.enum(['f16', 'q8_0']).default('f16').describe('Weight type of the generated model.'),
  parallel: z.number().int().positive().default(8).describe('Parallel sequences (slots) of the engine.'),
  threads: z.number().int().positive().default(1).describe('CPU threads the engine computes with.'),
  batchSize: z.number().int().positive().optional().describe('Tokens per decode batch (llama-server `-b`). Absent: the engine\'s default.'),
  cacheDir: z.string().optional().describe('Where generated models and the built llama-server are cached.'),
})

/** `--shard i/n`: this process sends the i-th of n striped parts of the schedule (see execution-segment.ts). */
export const ShardSchema = z.strictObject({
  index: z.number().int().nonnegative().describe('0-based part this process sends (Kubernetes: JOB_COMPLETION_INDEX).'),
  count: z.number().int().positive().max(10_000).describe('How many shards share the schedule.'),
})

/** What the power telemetry must cover for the efficiency figures to be quoted (see coverage-check.ts). */
export const CoverageSchema = z.strictObject({
  expectNodes: z.number().int().positive().optional().describe('Nodes (meter `node:` labels; unlabelled host meters count as the host) that must all have readings in the window.'),
  expectDevices: z.number().int().positive().optional().describe('Device channels (GPUs) that must all have readings in the window.'),
  maxGapS: z.number().positive().optional().describe('Longest gap allowed between two readings of a channel inside the window (default: three sampling periods).'),
})

export const BenchConfigSchema = z
  .strictObject({
    target: TargetSchema.prefault({}).describe('The server under test.'),
    workload: WorkloadSchema.prefault({}).describe('What each request asks for.'),
    load: LoadSchema.default({ type: 'closed-loop', concurrency: 1 }).describe('How requests are offered: a closed loop of users or an open-loop arrival process.'),
    stop: StopSchema.prefault({}).describe('When the measured load ends.'),
    warmupRequests: z.number().int().nonnegative().default(0).describe('Requests sent before the measurement (connections warm, caches primed); excluded from results.'),
    timeouts: TimeoutsSchema.prefault({}).describe('Per-request timeouts; a request that passes one is a failure of that kind.'),
    slo: SloSchema.prefault({}).describe('Latency bounds that decide which requests are good (goodput) and the run-level SLO verdict.'),
    out: z.string().default('tokenwatt-runs').describe('Directory summary.json and the report go to (a run-id subfolder is made inside).'),
    store: z.string().optional().describe('SQLite file of the results store. Absent: the user\'s data directory.'),
    meters: MeterListSchema.default([]).describe('Power meters read beside the load (issue 4). Redfish and SNMP take lists of targets, Prometheus a list of nodes: one meter each.'),
    boundary: BoundarySchema.optional().describe('Boundary the headline efficiency figures are reported at. Absent: the lowest boundary a meter reads (device without meters).'),
    idleS: z.number().nonnegative().default(0).describe('Seconds of idle power measured before the load starts (0 = none).'),
    settlePower: z.boolean().default(false).describe('Start the steady window only once the meters\' power has settled too (MSER-5 on the power series, as on the token rate); tokenwatt sweep sets it on every point of a hardware sweep.'),
    attribution: AttributionSchema.prefault({}).describe('How energy is carried from one boundary to the next (host share, PSU, PDU, PUE, provisioned power).'),
    cost: CostSchema.optional().describe('Cost model (issue 5).'),
    local: LocalEngineSchema.prefault({}).describe('The embedded engine started when target.endpoint is absent.'),
    maxErrorRate: z.number().min(0).max(1).default(DEFAULT_MAX_ERROR_RATE).describe('Largest share (0..1) of measured requests that may fail; above it the run is `invalid` and the CLI exits 6.'),
    labels: z.record(z.string(), z.string()).default({}).describe('Free-form labels stored with the run.'),
    coverage: CoverageSchema.optional().describe('Coverage the power telemetry must have: a node or device missing, a long gap or a window not bracketed by readings makes the efficiency figures null and the run invalid (exit 6), with the reasons named.'),
    shard: ShardSchema.optional().describe('Send only the index-th of count disjoint parts of the schedule (arrivals, users, sessions, trace rows); `tokenwatt merge` joins the shards\' runs into one.'),
    workers: z
      .union([z.literal('auto'), z.number().int().min(1).max(256)])
      .default(1)
      .describe('Threads that send the load, each with its own connection pool and event loop, so one host\'s client uses every core. 1: the scheduling thread sends it itself. `auto`: one thread, and one more whenever the busiest one\'s event loop is the limit (up to the CPUs available).'),
    startAt: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time such as 2026-12-06T14:00:00Z' }).optional().describe('Wall-clock time the measured load starts at (after preflight and warm-up), so shards on several hosts start together.'),
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
    if (c.shard !== undefined && c.shard.index >= c.shard.count) {
      ctx.addIssue({ code: 'custom', path: ['shard', 'index'], message: `must be below shard.count (${c.shard.count}); shards are numbered from 0` })
    }
    if (c.shard !== undefined && c.workload.trace === undefined && c.load.type === 'closed-loop' && c.load.concurrency < c.shard.count) {
      ctx.addIssue({ code: 'custom', path: ['load', 'concurrency'], message: `${c.load.concurrency} users cannot be split over ${c.shard.count} shards: give at least one per shard` })
    }
    if (c.workload.sessions !== undefined && c.workload.dataset) {
      ctx.addIssue({ code: 'custom', path: ['workload', 'sessions'], message: 'cannot be combined with a dataset (sessions make their own prompts)' })
    }
  })

export type BenchConfigInput = z.input<typeof BenchConfigSchema>
export type BenchConfig = z.output<typeof BenchConfigSchema>
