import { z } from 'zod'

/**
 * The mock engine's knobs: one zod schema for `mock.yaml`, the CLI flags and `startMockServer()`.
 * Timing is absolute per stream: chunk j of a request is written at
 * `received + ttftMs + prefillMsPerToken × promptTokens + j × tokensPerChunk × itlMs` (plus any stall),
 * so `ttftMs` and `itlMs` are what a perfect client would measure, whatever `tokensPerChunk` is.
 */

/** When a fault hits: every Nth request (1-based, counted over completion requests) and/or with a seeded probability. */
const Rule = {
  every: z.number().int().positive().optional(),
  probability: z.number().min(0).max(1).optional(),
}
/** After how many content chunks a mid-stream fault strikes (at the end if the stream is shorter). */
const AfterChunks = z.number().int().nonnegative().default(3)

export const MockFaultsSchema = z.strictObject({
  /** Answer HTTP 429 with a Retry-After header. */
  rateLimit: z.strictObject({ ...Rule }).prefault({}),
  /** Answer a 5xx status. */
  serverError: z.strictObject({ ...Rule, status: z.number().int().min(500).max(599).default(500) }).prefault({}),
  /** Pause the stream for `ms` after `afterChunks` chunks. */
  stall: z.strictObject({ ...Rule, afterChunks: AfterChunks, ms: z.number().nonnegative().default(1000) }).prefault({}),
  /** Destroy the socket after `afterChunks` chunks (no chunked-encoding end, no [DONE]). */
  disconnect: z.strictObject({ ...Rule, afterChunks: AfterChunks }).prefault({}),
  /** Write a `data:` line that is not JSON after `afterChunks` chunks, then carry on. */
  malformed: z.strictObject({ ...Rule, afterChunks: AfterChunks }).prefault({}),
  /** Write `data: {"error": …}` after `afterChunks` chunks, then [DONE] (what vLLM does on an engine error). */
  errorEvent: z.strictObject({ ...Rule, afterChunks: AfterChunks }).prefault({}),
  /** Leave out the usage chunk even when `stream_options.include_usage` asks for it. */
  missingUsage: z.strictObject({ ...Rule }).prefault({}),
  /** Hold the response headers back for `ms` (first tokens are not sent before the headers). */
  slowHeaders: z.strictObject({ ...Rule, ms: z.number().nonnegative().default(1000) }).prefault({}),
})

/** The synthetic power trace served at `GET /tokenwatt/power`. */
export const MockPowerSchema = z.strictObject({
  idleW: z.number().nonnegative().default(100),
  /** Added for every request in flight. */
  perStreamW: z.number().nonnegative().default(5),
  /** Added for every request in prefill (received, first token not yet sent): phase-dependent power. */
  prefillW: z.number().nonnegative().default(0),
  /** Added for every request in decode (first token sent, not yet ended). */
  decodeW: z.number().nonnegative().default(0),
  /** Cap (board power limit). */
  maxW: z.number().positive().default(700),
})

/** The prefix cache (see prefix-cache.ts): cached prompt tokens skip prefill and show in usage. */
export const MockPrefixCacheSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** Tokens per cache block (vLLM's default block size is 16). */
  blockTokens: z.number().int().positive().default(16),
  /** Tokens the cache holds before evicting the least recently used blocks. */
  capacityTokens: z.number().int().positive().default(1_000_000),
})

/** The simulated accelerator (device-model.ts): token speed and power answer the cap, clock and batch. */
export const MockDeviceSchema = z.strictObject({
  /** State file shared with knobs and the NVML stub (else TOKENWATT_SIM_DEVICE_STATE; none: fixed at TDP). */
  stateFile: z.string().min(1).optional(),
  idleW: z.number().nonnegative().default(100),
  uncoreW: z.number().nonnegative().default(150),
  dynamicW: z.number().positive().default(450),
  smClockMaxMHz: z.number().positive().default(1980),
  fMin: z.number().positive().max(1).default(0.3),
  baseItlMs: z.number().positive().default(10),
  batchSlope: z.number().nonnegative().default(0.08),
  halfBatch: z.number().positive().default(2),
})

export const MockConfigSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  /** 0 picks a free port. */
  port: z.number().int().min(0).max(65535).default(8000),
  /** Model names served; requests naming another model get a 404 as from vLLM. */
  models: z.array(z.string().min(1)).min(1).default(['mock']),
  ttftMs: z.number().nonnegative().default(50),
  /** Extra time to first token per prompt token (a prefill cost). */
  prefillMsPerToken: z.number().nonnegative().default(0),
  /** Time between tokens. */
  itlMs: z.number().nonnegative().default(10),
  tokensPerChunk: z.number().int().positive().default(1),
  /** A fixed natural answer length: shorter than max_tokens ends with finish_reason "stop". */
  outputTokens: z.number().int().positive().optional(),
  /** Output length when a request gives no max_tokens. */
  defaultMaxTokens: z.number().int().positive().default(256),
  /** Chat prompt overhead per message (role markers of a chat template). */
  chatTokensPerMessage: z.number().int().nonnegative().default(4),
  /** Seed of the fault probabilities. */
  seed: z.number().int().default(1),
  faults: MockFaultsSchema.prefault({}),
  power: MockPowerSchema.prefault({}),
  prefixCache: MockPrefixCacheSchema.prefault({}),
  /** Simulated accelerator; when given it replaces `itlMs` and the power trace's step model. */
  device: MockDeviceSchema.optional(),
  /** Append every request's ground truth to this JSONL file. */
  groundTruthFile: z.string().min(1).optional(),
  /** Ground-truth records kept in memory (oldest dropped first). */
  groundTruthLimit: z.number().int().nonnegative().default(100_000),
})

export type MockConfigInput = z.input<typeof MockConfigSchema>
export type MockConfig = z.output<typeof MockConfigSchema>
export type MockFaults = MockConfig['faults']
export type MockFaultName = keyof MockFaults
