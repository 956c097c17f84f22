import { z } from 'zod'
import { SERVER_PRESET_IDS } from '../monitor/server-presets.js'
import { CostSchema } from './cost-schema.js'
import { AttributionSchema, BoundarySchema } from './meters-schema.js'
import { MeterListSchema } from './meter-list.js'

/**
 * The schema of `tokenwatt monitor` (issue 10): where the servers' token counters come from, which
 * names they use, and the same power, attribution and cost sections as `bench` (the same schemas, so
 * a bench YAML's `meters:`/`attribution:`/`cost:` can be pasted in). Flags and YAML merge as plain
 * data and are validated here once.
 */
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })

/** A custom mapping (preset `custom`), or overrides of a preset's names. */
export const ServerMappingSchema = z.strictObject({
  /** Counter (`…_total`) or histogram `…_sum` of generated tokens. */
  outputTokens: z.string().min(1).optional(),
  inputTokens: z.string().min(1).optional(),
  /** Gauge of requests in flight. */
  running: z.string().min(1).optional(),
  /** Histogram families (seconds), without `_bucket`. */
  ttft: z.string().min(1).optional(),
  itl: z.string().min(1).optional(),
  e2e: z.string().min(1).optional(),
})

export const MonitorSourceSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('server-metrics'),
    /** Every replica's /metrics URL, scraped directly each round. */
    urls: z.array(httpUrl).min(1),
  }),
  z.strictObject({
    type: z.literal('prometheus'),
    /** A Prometheus that already scrapes the servers (base URL, e.g. http://prom:9090). */
    url: httpUrl,
    /** PromQL label matchers added to every series, e.g. `{job="vllm"}`. */
    selector: z.string().regex(/^\{.*\}$/, 'must be label matchers in braces, e.g. {job="vllm"}').optional(),
  }),
])

export const MonitorConfigSchema = z
  .strictObject({
    source: MonitorSourceSchema,
    preset: z.enum(SERVER_PRESET_IDS as unknown as [string, ...string[]]).default('vllm'),
    mapping: ServerMappingSchema.prefault({}),
    /** Seconds between scrape rounds. */
    intervalS: z.number().min(0.05).max(3600).default(5),
    /** Stop after this long (absent: until Ctrl-C). */
    durationS: z.number().positive().optional(),
    /** Model label stored with the session (absent: taken from the series' `model`/`model_name` label). */
    model: z.string().min(1).optional(),
    /** A stored bench run whose output tokens/s is the capacity utilisation is measured against. */
    capacityFrom: z.string().min(1).optional(),
    /** Threshold rules, e.g. `tokens_per_joule < 2 for 10m`. */
    alerts: z.array(z.string().min(1)).default([]),
    /** Serve `/metrics` for Prometheus at HOST:PORT (port alone binds 127.0.0.1). */
    exporter: z.string().regex(/^(?:[^:]*:)?\d{1,5}$/, 'must be PORT or HOST:PORT, e.g. 127.0.0.1:9464').optional(),
    out: z.string().default('tokenwatt-runs'),
    store: z.string().optional(),
    meters: MeterListSchema.default([]),
    boundary: BoundarySchema.optional(),
    attribution: AttributionSchema.prefault({}),
    cost: CostSchema.optional(),
    labels: z.record(z.string(), z.string()).default({}),
    /** Timeout of one scrape (ms). */
    scrapeTimeoutMs: z.number().positive().default(3000),
  })
  .superRefine((c, ctx) => {
    if (c.preset === 'custom' && c.mapping.outputTokens === undefined) {
      ctx.addIssue({ code: 'custom', path: ['mapping', 'outputTokens'], message: 'preset custom needs mapping.outputTokens (--map output=METRIC)' })
    }
  })

export type MonitorConfig = z.output<typeof MonitorConfigSchema>
