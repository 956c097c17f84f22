import { z } from 'zod'

/**
 * `shard.json`: what a `bench --shard i/n` run leaves beside its summary.json for `tokenwatt merge`:
 * which part of which schedule it ran, where its raw records are, and how its clock relates to the
 * common reference (the server under test's clock, from its HTTP `Date` headers).
 */
export const SHARD_SCHEMA = 'tokenwatt.shard/v1'

export const ClockOffsetSchema = z.looseObject({
  /** Reference (server) clock minus this shard's wall clock (ms). */
  offsetMs: z.number(),
  /** Half-width of the interval the true offset lies in (ms). */
  uncertaintyMs: z.number().nonnegative(),
  observations: z.number().int().nonnegative(),
  steps: z.number().int().nonnegative(),
  source: z.string(),
})

export const ShardManifestSchema = z.looseObject({
  schema: z.literal(SHARD_SCHEMA),
  runId: z.string().min(1),
  shard: z.looseObject({ index: z.number().int().nonnegative(), count: z.number().int().positive() }),
  startAt: z.string().nullable(),
  /** This shard's wall-clock ms at its run time 0. */
  epochWallMs: z.number(),
  /** Against the server under test; null when its replies carried no usable `Date` header. */
  clockOffset: ClockOffsetSchema.nullable(),
  clockReference: z.string(),
  /** The SQLite store holding the run's records, relative to this file's folder (or absolute). */
  store: z.string().min(1),
  /** Digest of the resolved config without the keys that differ between shards (shard, out, store, labels). */
  scheduleDigest: z.string().min(1),
  host: z.string(),
})
export type ShardManifest = z.infer<typeof ShardManifestSchema>

/** The config as every shard of one schedule must have it: keys that may differ between shards removed. */
export function scheduleOf(config: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { shard: _shard, out: _out, store: _store, labels: _labels, ...rest } = config
  return rest
}

/** Stable JSON (sorted keys) of a value, for digests that do not depend on key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}
