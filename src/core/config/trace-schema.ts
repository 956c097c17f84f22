import { z } from 'zod'

export const TRACE_FORMATS = ['mooncake', 'azure', 'burstgpt', 'weka', 'github-agent', 'jsonl'] as const
export type TraceFormat = (typeof TRACE_FORMATS)[number]

/**
 * Tokens per `hash_ids` block by format: Mooncake's traces use 512, Weka/AgentX traces 64 (their
 * block_size); a GitHub agent trace's blocks are made from its cached-token counts, 64 tokens each.
 */
export const DEFAULT_BLOCK_TOKENS: Readonly<Record<TraceFormat, number>> = { mooncake: 512, azure: 512, burstgpt: 512, weka: 64, 'github-agent': 64, jsonl: 512 }

/**
 * Trace replay (workload.trace): requests at the trace's own timestamps on the absolute schedule, with
 * the recorded input/output lengths; `hash_ids` become real shared prefixes. Replaces `load:` (the
 * trace is the arrival process). See src/core/load/trace/ for each format's columns.
 */
export const TraceSchema = z.strictObject({
  path: z.string().min(1),
  format: z.enum(TRACE_FORMATS),
  /** Speed-up: 10 replays ten times faster (gaps ÷ 10); 0.5 at half speed. */
  timeScale: z.number().positive().default(1),
  /** Cap on any gap between consecutive arrivals, in trace seconds (before time scaling). */
  maxIdleGapS: z.number().positive().optional(),
  /** Skip the trace's first seconds (from its first timestamp). */
  startOffsetS: z.number().nonnegative().default(0),
  /** Replay only this many trace seconds after the start offset. */
  durationS: z.number().positive().optional(),
  /** Tokens per hash_ids block. Absent: the format's (Mooncake 512, Weka 64; a Weka trace's own block_size wins). */
  blockTokens: z.number().int().positive().optional(),
})
export type TraceConfig = z.output<typeof TraceSchema>
