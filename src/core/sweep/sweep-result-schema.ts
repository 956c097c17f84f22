import { z } from 'zod'
import { OBJECTIVES } from './sweep-schema.js'
import { SWEEP_SCHEMA } from './sweep-result.js'

/** The zod form of sweep.json (`tokenwatt.sweep/v1`, types in sweep-result.ts): docs/schema/sweep.schema.json and --resume read it. */
const num = z.number().nullable()
const IntervalSchema = z.object({ low: z.number(), high: z.number() }).nullable()
const KnobValuesSchema = z.record(z.string(), z.number()).describe('Knob values by name.')

export const PointFiguresSchema = z.object({
  joulesPerGoodToken: num.describe('J per good output token at the run\'s boundary.'),
  usdPerMillionGoodTokens: num,
  goodTokensPerSPerMW: num,
  goodOutputTokensPerS: num,
  outputTokensPerS: z.number(),
  avgPowerW: num,
  interactivityTokPerS: num.describe('Median tokens/s per user.'),
  sloAttainment: num,
  sloPassed: z.boolean().nullable(),
  ttftP99Ms: num,
  tpotP99Ms: num,
  sloViolation: z.number().describe('Relative miss of the SLO bounds (and the task bound, for sessions) at the verdict percentile (0 when met).'),
  valid: z.boolean(),
  joulesPerGoodTask: num.optional().describe('Session workloads: J per task that met the task SLO.'),
  usdPerGoodTask: num.optional().describe('Session workloads: USD per task that met the task SLO.'),
})

const ScoreSchema = z.object({ cost: z.number().nullable().describe('Objective turned lower-is-better (JSON writes Infinity as null).'), feasible: z.boolean(), violation: z.number() })
const SavingsSchema = z.object({ baseline: num, chosen: num, changeRel: num.describe('(chosen − baseline) / baseline.'), interval: IntervalSchema })

export const SweepPointSchema = z.object({
  key: z.string(),
  knobs: KnobValuesSchema,
  runIds: z.array(z.string()).describe('Stored runs of the point, one per repeat.'),
  repeats: z.array(PointFiguresSchema),
  objective: z.object({ value: num, interval: IntervalSchema }),
  score: ScoreSchema,
  hardware: z.record(z.string(), z.object({ requested: z.number(), enforced: z.record(z.string(), z.number()).describe('Enforced value by device (read back).') })),
  throttledForPowerS: num,
  settleS: num.describe('Seconds from the last hardware change to the start of the steady window.'),
  baseline: z.boolean().optional().describe('The default settings, measured to state the savings.'),
  error: z.string().optional(),
})

export const SweepResultSchema = z.object({
  schema: z.literal(SWEEP_SCHEMA),
  id: z.string(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  status: z.enum(['running', 'complete', 'interrupted', 'failed']),
  strategy: z.enum(['grid', 'adaptive']),
  objective: z.enum(OBJECTIVES),
  unit: z.string(),
  repeats: z.number().int(),
  axes: z.array(z.object({ name: z.string(), values: z.array(z.number()) })),
  gridPoints: z.number().int(),
  points: z.array(SweepPointSchema),
  chosen: z
    .object({
      key: z.string(),
      knobs: KnobValuesSchema,
      runIds: z.array(z.string()),
      objective: z.object({ value: num, interval: IntervalSchema }),
      sloMargins: z.record(z.string(), z.number()).describe('(bound − value) / bound at the verdict percentile.'),
      confidence: z.enum(['distinct', 'within-noise']),
      tiedWith: z.array(z.string()),
      baselineKey: z.string().nullable(),
      savings: z.object({ joulesPerGoodToken: SavingsSchema, usdPerMillionGoodTokens: SavingsSchema, goodTokensPerSPerMW: SavingsSchema, joulesPerGoodTask: SavingsSchema.optional(), usdPerGoodTask: SavingsSchema.optional() }).nullable(),
    })
    .nullable(),
  frontier: z.array(z.string()).describe('Pareto frontier point keys (good tok/s per MW vs tok/s per user).'),
  restored: z.array(z.object({ id: z.string(), value: z.number(), unit: z.string() })),
  warnings: z.array(z.string()),
  config: z.unknown(),
})
