import { z } from 'zod'
import { DistributionSchema } from './distribution.js'

/**
 * A think-time (tool latency) distribution in milliseconds; a bare number means fixed. Zero is allowed.
 * `exponential` has the given mean; `uniform` is over [lowMs, highMs].
 */
export const ThinkTimeSchema = z.union([
  z.number().nonnegative().transform((ms) => ({ type: 'fixed' as const, ms })),
  z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('fixed'), ms: z.number().nonnegative() }),
    z.strictObject({ type: z.literal('uniform'), lowMs: z.number().nonnegative(), highMs: z.number().nonnegative() }),
    z.strictObject({ type: z.literal('exponential'), meanMs: z.number().positive() }),
  ]),
])
export type ThinkTime = z.output<typeof ThinkTimeSchema>

/** Sub-agent fan-out: every `every`-th turn spawns k parallel children whose answers feed the next turn. */
export const FanOutSchema = z.strictObject({
  /** Turn period of the fan-out (2: turns 1, 3, 5, …; 1: every turn). */
  every: z.number().int().positive(),
  /** How many children (k). */
  children: DistributionSchema.default({ type: 'fixed', value: 2 }),
  /** New prompt tokens of each child's own instruction (on top of the conversation so far). */
  input: DistributionSchema.default({ type: 'fixed', value: 64 }),
  /** Output tokens of each child. */
  output: DistributionSchema.default({ type: 'fixed', value: 64 }),
})

/**
 * Multi-turn agentic sessions: each session is a task of several turns; every turn's prompt is the
 * whole conversation so far (system prompt, earlier user turns and the server's real answers) plus
 * the new input, so prompts grow and share their prefix. The load (`load:`) counts sessions: closed
 * loop keeps N sessions in flight, open loop starts sessions at the arrival rate.
 */
export const SessionsSchema = z.strictObject({
  /** Turns per session. */
  turns: DistributionSchema.default({ type: 'fixed', value: 4 }),
  /** New user tokens per turn. Absent: workload.input. */
  input: DistributionSchema.optional(),
  /** Output tokens per turn. Absent: workload.output. */
  output: DistributionSchema.optional(),
  /** Think / tool time between a turn's end and the next turn's send (ms). */
  thinkTimeMs: ThinkTimeSchema.default({ type: 'fixed', ms: 0 }),
  /** Tokens of a system prompt shared by every session (0: none). */
  systemPromptTokens: z.number().int().nonnegative().default(0),
  fanOut: FanOutSchema.optional(),
  /** Sessions to run in all (stops the run once they have finished). */
  count: z.number().int().positive().optional(),
  /** Header carrying the session id on every turn, for session-affinity routing ('' sends none). */
  affinityHeader: z.string().regex(/^[A-Za-z0-9-]*$/, 'must be an HTTP header name').default('x-session-id'),
  /** Header carrying a per-request correlation id `session-turn-branch` ('' sends none). */
  correlationHeader: z.string().regex(/^[A-Za-z0-9-]*$/, 'must be an HTTP header name').default('x-correlation-id'),
  /** Whole-task latency bound (first send → last token) for the task SLO (ms). */
  taskLatencyMs: z.number().positive().optional(),
})
export type SessionsConfig = z.output<typeof SessionsSchema>
