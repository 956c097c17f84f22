import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import { openStore } from '../adapters/store/sqlite-store.js'
import { ShardMergeError } from '../core/errors.js'
import { ShardManifestSchema } from '../core/shard/shard-manifest.js'
import type { ShardInput } from '../core/shard/merge-shards.js'
import type { RunSummary } from '../core/summary.js'
import { SHARD_MANIFEST_FILE } from './bench/shard-output.js'

/**
 * Reads one shard's `--out` folder: the folder holding shard.json, or a folder with exactly one run
 * subfolder that does. Everything wrong is one ShardMergeError line naming the folder.
 */
export function readShardDir(dir: string, cwd: string): ShardInput {
  const root = resolve(cwd, dir)
  const runDir = findRunDir(root, dir)
  const manifestPath = join(runDir, SHARD_MANIFEST_FILE)
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(manifestPath, 'utf8'))
  } catch (e) {
    throw new ShardMergeError(`${dir}: ${SHARD_MANIFEST_FILE} cannot be read (${(e as Error).message})`, { hint: 'is this the --out folder of a `bench --shard i/n` run?' })
  }
  const parsed = ShardManifestSchema.safeParse(raw)
  if (!parsed.success) throw new ShardMergeError(`${dir}: ${SHARD_MANIFEST_FILE} is not a tokenwatt.shard/v1 file (${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? ''})`, { hint: 'was it written by another tokenwatt version?' })
  const shard = parsed.data
  let summary: RunSummary
  try {
    summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as RunSummary
  } catch {
    throw new ShardMergeError(`${dir}: shard ${shard.shard.index}/${shard.shard.count} has no summary.json: it did not finish`, { hint: 'rerun that shard (with a new --start-at for all) or find its finished folder' })
  }
  const storePath = isAbsolute(shard.store) ? shard.store : join(runDir, shard.store)
  if (!existsSync(storePath)) throw new ShardMergeError(`${dir}: the shard's store ${storePath} is missing`, { hint: 'copy the whole --out folder of each shard, records.db included' })
  const store = openStore(storePath)
  try {
    return { source: dir, shard, run: store.getManifest(shard.runId), summary, records: store.getRequests(shard.runId), samples: store.getPowerSamples(shard.runId) }
  } finally {
    store.close()
  }
}

function findRunDir(root: string, dir: string): string {
  if (existsSync(join(root, SHARD_MANIFEST_FILE))) return root
  let subs: string[]
  try {
    subs = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(root, d.name, SHARD_MANIFEST_FILE))).map((d) => d.name)
  } catch (e) {
    throw new ShardMergeError(`${dir}: cannot read the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { hint: 'pass each shard\'s --out folder' })
  }
  if (subs.length === 0) throw new ShardMergeError(`${dir}: no shard run in it (no ${SHARD_MANIFEST_FILE})`, { hint: 'is this the --out folder of a `bench --shard i/n` run?' })
  if (subs.length > 1) throw new ShardMergeError(`${dir}: holds ${subs.length} shard runs (${subs.join(', ')})`, { hint: 'pass the run folder of the one to merge, DIR/RUN-ID' })
  return join(root, subs[0] as string)
}
