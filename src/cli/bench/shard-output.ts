import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { isAbsolute, join, relative } from 'node:path'
import type { BenchConfig } from '../../core/config/bench-schema.js'
import type { ClockOffset } from '../../adapters/meters/remote/clock-offset.js'
import { canonicalJson, scheduleOf, SHARD_SCHEMA, type ShardManifest } from '../../core/shard/shard-manifest.js'
import { redactConfig } from './redact.js'

/** The store a shard writes, inside its run folder, when no --store is given. */
export const SHARD_STORE_FILE = 'records.db'
export const SHARD_MANIFEST_FILE = 'shard.json'

export interface ShardOutput {
  readonly runId: string
  readonly config: BenchConfig
  readonly epochWallMs: number
  readonly clockOffset: ClockOffset | null
  readonly clockReference: string
  readonly storePath: string
}

/** Digest of what every shard of one schedule shares (see scheduleOf). */
export function scheduleDigest(config: BenchConfig): string {
  return createHash('sha256').update(canonicalJson(scheduleOf(redactConfig(config) as Record<string, unknown>))).digest('hex').slice(0, 16)
}

/** Writes `shard.json` beside the shard's summary.json. */
export function writeShardManifest(runDir: string, out: ShardOutput): void {
  const shard = out.config.shard
  if (shard === undefined) return
  const rel = relative(runDir, out.storePath)
  const manifest: ShardManifest = {
    schema: SHARD_SCHEMA,
    runId: out.runId,
    shard: { index: shard.index, count: shard.count },
    startAt: out.config.startAt ?? null,
    epochWallMs: out.epochWallMs,
    clockOffset: out.clockOffset === null ? null : { ...out.clockOffset },
    clockReference: out.clockReference,
    store: rel.startsWith('..') || isAbsolute(rel) ? out.storePath : rel,
    scheduleDigest: scheduleDigest(out.config),
    host: hostname(),
  }
  writeFileSync(join(runDir, SHARD_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`)
}
