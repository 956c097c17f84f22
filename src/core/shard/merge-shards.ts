import { BenchConfigSchema, type BenchConfig } from '../config/bench-schema.js'
import { analyzeRun } from '../analysis/analyze-run.js'
import { finishSummary } from '../analysis/finish-summary.js'
import { ShardMergeError } from '../errors.js'
import type { MeterInfo, MeterKind } from '../ports.js'
import type { PowerSample, RequestRecord } from '../records.js'
import type { RunManifest } from '../store.js'
import type { RunSummary } from '../summary.js'
import type { ShardManifest } from './shard-manifest.js'

/** One shard as read back from its `--out` folder: its shard.json, summary and raw records. */
export interface ShardInput {
  /** Where it came from (for messages). */
  readonly source: string
  readonly shard: ShardManifest
  readonly run: RunManifest
  readonly summary: RunSummary
  readonly records: readonly RequestRecord[]
  readonly samples: readonly PowerSample[]
}

export interface MergedShardClock {
  readonly index: number
  readonly source: string
  readonly host: string
  readonly runId: string
  /** The shard's measured offset to the reference clock (ms), null when none was measured. */
  readonly offsetMs: number | null
  readonly uncertaintyMs: number | null
  /** Whether the offset was applied: only when its interval excludes 0 (the wall clocks demonstrably disagree). */
  readonly applied: boolean
  /** Where the shard's time 0 lies on the merged timeline (ms). */
  readonly shiftMs: number
  readonly requests: number
}

export interface MergeResult {
  readonly summary: RunSummary
  readonly records: readonly RequestRecord[]
  readonly samples: readonly PowerSample[]
  readonly meters: readonly MeterInfo[]
  /** Our merged timeline's time 0 on the reference wall clock (ms). */
  readonly epochWallMs: number
  readonly config: BenchConfig
  readonly shards: readonly MergedShardClock[]
  /** Largest clock uncertainty of any shard (ms): how far apart two shards' events may really be. */
  readonly clockUncertaintyMs: number | null
}

/** Meters read on the host itself; the same kind on two hosts is two pieces of equipment. */
const HOST_LOCAL_KINDS: ReadonlySet<MeterKind> = new Set(['nvml', 'nvidia-smi', 'amd-smi', 'rapl', 'estimate'])

/**
 * Joins the runs of `bench --shard i/n` into one run, as if one process had sent the whole schedule:
 * the raw request records of every shard are placed on one timeline and analysed once (one steady
 * window over the union, exact percentiles over every request: nothing is averaged), and the energy
 * comes from the meters of all shards, each piece of equipment counted once.
 *
 * Refuses (ShardMergeError) shards that do not make one run: a part missing or given twice, parts
 * of different schedules (config digest, part count, start time), requests of two shards with the
 * same sequence number, or a shard that did not finish.
 *
 * Clocks: each shard measured its wall clock against the server under test's (`shard.json`). An
 * offset is applied when its interval excludes 0; otherwise the wall clocks agree within what the
 * `Date` header can tell and are trusted as they are. Either way the uncertainty is reported.
 */
export function mergeShards(inputs: readonly ShardInput[], options: { readonly id: string; readonly toolVersion: string }): MergeResult {
  const shards = checkShards(inputs)
  const first = shards[0] as ShardInput
  const config = mergedConfig(first)
  const warnings: string[] = []

  const clocks = shards.map((s) => {
    const o = s.shard.clockOffset
    const applied = o !== null && Math.abs(o.offsetMs) > o.uncertaintyMs
    return { s, o, applied, refEpochMs: s.shard.epochWallMs + (applied && o !== null ? o.offsetMs : 0) }
  })
  const epochWallMs = Math.min(...clocks.map((c) => c.refEpochMs))
  const missingOffsets = clocks.filter((c) => c.o === null).map((c) => c.s.shard.shard.index)
  if (missingOffsets.length > 0) warnings.push(`shard(s) ${missingOffsets.join(', ')} measured no clock offset to the server (no Date header); their own wall clocks were trusted`)

  const records: RequestRecord[] = []
  const samples: PowerSample[] = []
  const meters: MeterInfo[] = []
  const meterKeys = new Map<string, string>()
  const shardClocks: MergedShardClock[] = []
  for (const c of clocks) {
    const shiftNs = (c.refEpochMs - epochWallMs) * 1e6
    for (const r of c.s.records) records.push(shiftRecord(r, shiftNs))
    const kept = new Map<string, string>()
    for (const raw of c.s.run.meters as MeterInfo[]) {
      const key = `${HOST_LOCAL_KINDS.has(raw.kind) ? c.s.shard.host : '*'}|${raw.node ?? ''}|${raw.kind}|${raw.boundary}|${raw.description}`
      const already = meterKeys.get(key)
      if (already !== undefined) {
        warnings.push(`shard ${c.s.shard.shard.index}: meter ${raw.id} (${raw.description}) reads the same equipment as ${already}; counted once`)
        continue
      }
      const id = `s${c.s.shard.shard.index}:${raw.id}`
      meterKeys.set(key, id)
      kept.set(raw.id, id)
      // a meter read on the host itself reads that host's node unless labelled otherwise
      meters.push({ ...raw, id, ...(raw.node === undefined && HOST_LOCAL_KINDS.has(raw.kind) ? { node: c.s.shard.host } : {}) })
    }
    for (const p of c.s.samples) {
      const id = kept.get(p.meterId)
      if (id !== undefined) samples.push({ ...p, meterId: id, atNs: p.atNs + shiftNs })
    }
    shardClocks.push({
      index: c.s.shard.shard.index,
      source: c.s.source,
      host: c.s.shard.host,
      runId: c.s.shard.runId,
      offsetMs: c.o?.offsetMs ?? null,
      uncertaintyMs: c.o?.uncertaintyMs ?? null,
      applied: c.applied,
      shiftMs: c.refEpochMs - epochWallMs,
      requests: c.s.records.filter((r) => r.phase === 'measure').length,
    })
  }
  records.sort((a, b) => a.sentAtNs - b.sentAtNs || a.seq - b.seq)
  samples.sort((a, b) => a.atNs - b.atNs)
  const uncertainties = shardClocks.map((c) => c.uncertaintyMs).filter((u): u is number => u !== null)
  const clockUncertaintyMs = uncertainties.length > 0 ? Math.max(...uncertainties) : null
  warnings.push(
    `merged ${shards.length} shards; shard clocks aligned to the server's within ±${clockUncertaintyMs === null ? '?' : clockUncertaintyMs.toFixed(1)} ms (${shardClocks.filter((c) => c.applied).length} offset(s) applied)`,
  )
  if (config.idleS > 0) warnings.push('the shards\' idle baselines are not merged: idle power figures are left out of the merged run')
  if (config.workload.sessions !== undefined || config.workload.trace !== undefined) warnings.push('task (session) figures are not recomputed by merge; each shard\'s summary keeps its own')

  const statuses = shards.map((s) => s.summary.status)
  const monitors = shards.map((s) => s.summary.client)
  const maxOf = (xs: readonly (number | null)[]): number | null => (xs.every((x) => x === null) ? null : Math.max(...xs.filter((x): x is number => x !== null)))
  const chunkTimestamps = first.summary.client.chunkTimestamps
  let summary = analyzeRun({
    id: options.id,
    startedAt: shards.map((s) => s.summary.startedAt).sort()[0] as string,
    endedAt: shards.map((s) => s.summary.endedAt).sort().at(-1) as string,
    status: statuses.every((s) => s === 'complete') ? 'complete' : 'interrupted',
    toolVersion: options.toolVersion,
    config,
    target: first.summary.target,
    workload: first.summary.workload,
    records,
    powerSamples: samples,
    meters,
    idleWindowNs: null,
    connections: { opened: monitors.reduce((n, m) => n + m.connectionsOpened, 0), connectMs: [], connectErrors: 0 },
    droppedArrivals: shards.reduce((n, s) => n + s.summary.requests.droppedArrivals, 0),
    clientMonitor: { cpuUtilization: maxOf(monitors.map((m) => m.cpuUtilization)), eventLoopDelayP99Ms: maxOf(monitors.map((m) => m.eventLoopDelayP99Ms)) },
    ...(chunkTimestamps !== undefined ? { chunkTimestamps } : {}),
    warnings,
  })
  summary = { ...summary, config: { ...(first.run.config as Record<string, unknown>), shard: undefined } }
  summary = finishSummary(summary, { config, samples, meters, idleWindowNs: null, epochWallMs, records, ...(config.coverage !== undefined ? { coverage: { expect: config.coverage, defaultNode: first.shard.host } } : {}) })
  return { summary, records, samples, meters, epochWallMs, config, shards: shardClocks, clockUncertaintyMs }
}

/** Orders the shards by index and refuses any set that is not exactly the parts 0..n−1 of one schedule. */
function checkShards(inputs: readonly ShardInput[]): ShardInput[] {
  if (inputs.length === 0) throw new ShardMergeError('no shard folders given', { hint: 'tokenwatt merge DIR... --out DIR, each DIR a shard\'s --out' })
  const first = inputs[0] as ShardInput
  const count = first.shard.shard.count
  for (const s of inputs) {
    if (s.shard.shard.count !== count) throw new ShardMergeError(`${s.source} is shard ${s.shard.shard.index}/${s.shard.shard.count} but ${first.source} is one of ${count}`, { hint: 'merge the shards of one run only (the same --shard i/n count)' })
    if (s.shard.scheduleDigest !== first.shard.scheduleDigest) throw new ShardMergeError(`${s.source} ran a different schedule than ${first.source} (config digest ${s.shard.scheduleDigest} vs ${first.shard.scheduleDigest})`, { hint: 'every shard must run the same config apart from --shard, --out, --store and labels' })
    if (s.shard.startAt !== first.shard.startAt) throw new ShardMergeError(`${s.source} started at ${s.shard.startAt ?? '(no --start-at)'} but ${first.source} at ${first.shard.startAt ?? '(no --start-at)'}`, { hint: 'give every shard the same --start-at' })
  }
  const byIndex = new Map<number, ShardInput>()
  for (const s of inputs) {
    const twice = byIndex.get(s.shard.shard.index)
    if (twice !== undefined) throw new ShardMergeError(`shard ${s.shard.shard.index}/${count} is given twice: ${twice.source} and ${s.source}`, { hint: 'each part of the schedule may be merged once' })
    byIndex.set(s.shard.shard.index, s)
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i))
  if (missing.length > 0) throw new ShardMergeError(`shard(s) ${missing.map((i) => `${i}/${count}`).join(', ')} missing: ${inputs.length} of ${count} given`, { hint: 'pass every shard\'s --out folder; a merge of part of the schedule would under-count the load' })
  const seqs = new Map<number, number>()
  for (const s of inputs) {
    for (const r of s.records) {
      const other = seqs.get(r.seq)
      if (other !== undefined && other !== s.shard.shard.index) throw new ShardMergeError(`shards ${other} and ${s.shard.shard.index} both hold request ${r.seq}: their schedules overlap`, { hint: 'were both run with the same --shard i/n by mistake, or by different tokenwatt versions?' })
      seqs.set(r.seq, s.shard.shard.index)
    }
  }
  return Array.from({ length: count }, (_, i) => byIndex.get(i) as ShardInput)
}

/** The shards' common config, as one process would have run it (no shard key). */
function mergedConfig(s: ShardInput): BenchConfig {
  const { shard: _shard, ...rest } = s.run.config as Record<string, unknown>
  const parsed = BenchConfigSchema.safeParse(rest)
  if (!parsed.success) throw new ShardMergeError(`${s.source}: the stored config cannot be read back (${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? ''})`, { hint: 'was the shard run by another tokenwatt version?' })
  return parsed.data
}

function shiftRecord(r: RequestRecord, shiftNs: number): RequestRecord {
  if (shiftNs === 0) return r
  const at = (t: number | null): number | null => (t === null ? null : t + shiftNs)
  return {
    ...r,
    scheduledAtNs: at(r.scheduledAtNs),
    sentAtNs: r.sentAtNs + shiftNs,
    headersAtNs: at(r.headersAtNs),
    chunkAtNs: r.chunkAtNs.map((t) => t + shiftNs),
    lastByteAtNs: at(r.lastByteAtNs),
  }
}
