/**
 * A synthetic but self-consistent run — request records, power samples and a summary computed from
 * them — for report tests and the report benchmark. Deterministic (seeded); no server, no meter.
 */
import type { PowerSample, RequestRecord } from '../src/core/records.js'
import type { RunSummary, Stats } from '../src/core/summary.js'
import { fixtureSummary } from './summary-fixture.js'

export interface SyntheticRunOptions {
  readonly requests: number
  readonly concurrency: number
  readonly seed?: number
  /** Output tokens per request are uniform in [min, max]. */
  readonly outputTokens?: readonly [number, number]
  /** GPU meter sampling period (ms). */
  readonly gpuPeriodMs?: number
  readonly model?: string
}

export interface SyntheticRun {
  readonly requests: RequestRecord[]
  readonly powerSamples: PowerSample[]
  readonly summary: RunSummary
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const MS = 1e6
const S = 1e9

function stats(values: number[]): Stats {
  if (values.length === 0) return { count: 0, mean: null, p50: null, p90: null, p95: null, p99: null, max: null, min: null, stddev: null }
  const v = Float64Array.from(values).sort()
  const at = (p: number): number => v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))] as number
  const mean = values.reduce((a, b) => a + b, 0) / values.length
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length)
  return { count: v.length, mean, p50: at(50), p90: at(90), p95: at(95), p99: at(99), max: v[v.length - 1] as number, min: v[0] as number, stddev: sd }
}

/** Builds the run: closed loop, users ramping up over 2 s, 2 % HTTP 500s, 0.5 % cut streams. */
export function syntheticRun(o: SyntheticRunOptions): SyntheticRun {
  const rnd = mulberry32(o.seed ?? 7)
  const [minOut, maxOut] = o.outputTokens ?? [64, 128]
  const requests: RequestRecord[] = []
  const userFree: number[] = Array.from({ length: o.concurrency }, (_, u) => (u / o.concurrency) * 2 * S)
  for (let seq = 0; seq < o.requests; seq++) {
    // the user who is free first sends next
    let u = 0
    for (let i = 1; i < userFree.length; i++) if ((userFree[i] as number) < (userFree[u] as number)) u = i
    const sent = userFree[u] as number
    const roll = rnd()
    const out = minOut + Math.floor(rnd() * (maxOut - minOut + 1))
    let record: RequestRecord
    if (roll < 0.02) {
      const end = sent + (5 + rnd() * 5) * MS
      record = { seq, phase: 'measure', userId: u, scheduledAtNs: null, sentAtNs: sent, headersAtNs: end, chunkAtNs: [], chunkTokens: [], lastByteAtNs: end, targetInputTokens: 256, targetOutputTokens: out, inputTokens: null, outputTokens: null, tokenSource: 'server-usage', finishReason: null, error: { kind: 'http_status', status: 500, message: 'Internal Server Error' } }
    } else {
      const cut = roll < 0.025
      const n = cut ? Math.floor(out / 2) : out
      const chunks: number[] = []
      let t = sent + (60 + rnd() * 80 + (o.concurrency / 8) * rnd()) * MS
      for (let k = 0; k < n; k++) {
        chunks.push(t)
        t += (14 + rnd() * 8 + (rnd() < 0.01 ? 40 : 0)) * MS
      }
      const last = (chunks[chunks.length - 1] ?? sent) + 0.5 * MS
      record = {
        seq,
        phase: 'measure',
        userId: u,
        scheduledAtNs: null,
        sentAtNs: sent,
        headersAtNs: sent + 2 * MS,
        chunkAtNs: chunks,
        chunkTokens: chunks.map(() => 1),
        lastByteAtNs: last,
        targetInputTokens: 256,
        targetOutputTokens: out,
        inputTokens: cut ? null : 256,
        outputTokens: cut ? n : out,
        tokenSource: cut ? 'client-count' : 'server-usage',
        finishReason: cut ? null : 'length',
        error: cut ? { kind: 'stream_cut', message: 'connection closed before [DONE]' } : null,
      }
    }
    requests.push(record)
    userFree[u] = (record.lastByteAtNs ?? sent) + 0.3 * MS
  }
  const endNs = Math.max(...requests.map((r) => r.lastByteAtNs ?? r.sentAtNs))
  const lastSend = Math.max(...requests.map((r) => r.sentAtNs))
  const win = { startNs: 2.5 * S, endNs: lastSend }
  const durationS = (win.endNs - win.startNs) / S

  // in-flight count per 100 ms drives the power model
  const stepNs = 100 * MS
  const steps = Math.ceil(endNs / stepNs) + 1
  const inflight = new Float64Array(steps + 1)
  for (const r of requests) {
    const a = Math.floor(r.sentAtNs / stepNs)
    const b = Math.floor((r.lastByteAtNs ?? r.sentAtNs) / stepNs)
    inflight[a] = (inflight[a] as number) + 1
    inflight[b + 1] = (inflight[b + 1] as number) - 1
  }
  for (let i = 1; i <= steps; i++) inflight[i] = (inflight[i] as number) + (inflight[i - 1] as number)
  const load = (t: number): number => Math.min(1, (inflight[Math.min(steps, Math.floor(t / stepNs))] as number) / o.concurrency)
  const powerSamples: PowerSample[] = []
  const gpuPeriod = (o.gpuPeriodMs ?? 100) * MS
  const energy = [0, 0, 0, 0]
  for (let t = 0; t <= endNs + gpuPeriod; t += gpuPeriod) {
    for (let g = 0; g < 4; g++) {
      const w = 95 + 480 * load(t) + rnd() * 20
      energy[g] = (energy[g] as number) + (w * gpuPeriod) / S
      powerSamples.push({ meterId: 'gpu', channel: `GPU-${g}`, atNs: t, sourceTimeMs: null, powerW: w, energyJ: energy[g] as number })
    }
  }
  for (let t = 0; t <= endNs + S; t += S) {
    powerSamples.push({ meterId: 'bmc', channel: 'chassis', atNs: t, sourceTimeMs: 1_764_496_800_000 + t / MS, powerW: 420 + 4 * (95 + 480 * load(t) + 10) * 1.12, energyJ: null })
  }

  // summary over the window
  const inWin = (t: number): boolean => t >= win.startNs && t <= win.endNs
  let outTok = 0
  let inTok = 0
  const ended = requests.filter((r) => inWin(r.lastByteAtNs ?? r.sentAtNs))
  const ok = ended.filter((r) => r.error === null)
  for (const r of requests) for (const c of r.chunkAtNs) if (inWin(c)) outTok++
  for (const r of requests) if (r.chunkAtNs[0] !== undefined && inWin(r.chunkAtNs[0])) inTok += r.inputTokens ?? 256
  const ttft = ok.map((r) => ((r.chunkAtNs[0] as number) - r.sentAtNs) / MS)
  const e2e = ok.map((r) => ((r.lastByteAtNs as number) - r.sentAtNs) / MS)
  const tpot = ok.map((r) => ((r.lastByteAtNs as number) - (r.chunkAtNs[0] as number)) / MS / Math.max(1, (r.outputTokens ?? 1) - 1))
  const itl: number[] = []
  for (const r of ok) for (let k = 1; k < r.chunkAtNs.length; k += 7) itl.push(((r.chunkAtNs[k] as number) - (r.chunkAtNs[k - 1] as number)) / MS)
  const good = ok.filter((r) => ((r.chunkAtNs[0] as number) - r.sentAtNs) / MS <= 400)
  const meanW = (id: string): number => {
    const xs = powerSamples.filter((s) => s.meterId === id && inWin(s.atNs))
    const channels = new Set(xs.map((s) => s.channel)).size
    return (xs.reduce((a, s) => a + (s.powerW ?? 0), 0) / Math.max(1, xs.length)) * channels
  }
  const gpuW = meanW('gpu')
  const nodeW = meanW('bmc')
  const outTps = outTok / durationS
  const totalTps = (outTok + inTok) / durationS
  const fixture = fixtureSummary()
  const summary = fixtureSummary({
    id: `synthetic-${o.requests}`,
    target: { ...fixture.target, model: o.model ?? fixture.target.model },
    window: { startS: win.startNs / S, endS: win.endNs / S, durationS, method: 'inflight-plateau+mser5' },
    requests: { total: requests.length, succeeded: requests.filter((r) => r.error === null).length, failed: requests.filter((r) => r.error !== null).length, warmup: 0, inWindow: ended.length, errorsByKind: { http_status: requests.filter((r) => r.error?.kind === 'http_status').length, stream_cut: requests.filter((r) => r.error?.kind === 'stream_cut').length }, missingUsage: 0, droppedArrivals: 0 },
    tokens: { ...fixture.tokens, input: inTok, output: outTok, source: 'mixed' },
    throughput: { outputTokensPerS: outTps, totalTokensPerS: totalTps, requestsPerS: ok.length / durationS },
    latency: { ttftMs: stats(ttft), itlMs: stats(itl), tpotMs: stats(tpot), e2eMs: stats(e2e), interactivityTokPerS: stats(tpot.map((x) => 1000 / x)) },
    slo: { ttftMs: 400, attainment: good.length / Math.max(1, ended.length), goodputRequestsPerS: good.length / durationS, goodOutputTokensPerS: good.reduce((a, r) => a + (r.outputTokens ?? 0), 0) / durationS, passed: true },
    load: { type: 'closed-loop', concurrency: o.concurrency, rate: null, scheduleLagMs: stats([]), meanInFlight: o.concurrency },
    config: { target: { model: o.model ?? fixture.target.model }, load: { type: 'closed-loop', concurrency: o.concurrency }, stop: { requests: o.requests } },
    power: {
      boundary: 'node',
      avgW: nodeW,
      energyJ: nodeW * durationS,
      coverage: 1,
      interval: { low: nodeW * durationS * 0.98, high: nodeW * durationS * 1.02 },
      measured: ['bmc (ipmi)', 'gpu (nvml)'],
      modeled: [],
      meters: [
        { id: 'gpu', kind: 'nvml', boundary: 'device', measured: true, method: 'counter', channels: ['GPU-0', 'GPU-1', 'GPU-2', 'GPU-3'], samples: powerSamples.filter((s) => s.meterId === 'gpu').length, avgW: gpuW, energyJ: gpuW * durationS, coverage: 1, energyInterval: null, idleW: 380, clockOffsetMs: null },
        { id: 'bmc', kind: 'ipmi', boundary: 'node', measured: true, method: 'trapezoid', channels: ['chassis'], samples: powerSamples.filter((s) => s.meterId === 'bmc').length, avgW: nodeW, energyJ: nodeW * durationS, coverage: 1, energyInterval: null, idleW: 890, clockOffsetMs: 12 },
      ],
      levels: [
        { boundary: 'device', source: 'measured', avgW: gpuW, energyJ: gpuW * durationS, interval: { low: gpuW * durationS * 0.99, high: gpuW * durationS * 1.01 }, assumptions: [] },
        { boundary: 'node', source: 'measured', avgW: nodeW, energyJ: nodeW * durationS, interval: { low: nodeW * durationS * 0.98, high: nodeW * durationS * 1.02 }, assumptions: [] },
        { boundary: 'facility', source: 'modeled', avgW: nodeW * 1.3, energyJ: nodeW * 1.3 * durationS, interval: { low: nodeW * 1.2 * durationS, high: nodeW * 1.5 * durationS }, assumptions: [{ name: 'pue', value: 1.3, unit: 'ratio', source: 'default (range 1.1–1.6)' }] },
      ],
      idleW: 890,
    },
    efficiency: {
      boundary: 'node',
      outputTokensPerJoule: outTps / nodeW,
      totalTokensPerJoule: totalTps / nodeW,
      joulesPerOutputToken: nodeW / outTps,
      joulesPerToken: nodeW / totalTps,
      outputTokensPerSPerMW: outTps / (nodeW / 1e6),
      outputTokensPerSPerProvisionedMW: outTps / (4 * 700 * 1.6 / 1e6),
      interval: { low: (nodeW * 0.98) / outTps, high: (nodeW * 1.02) / outTps },
      measured: ['bmc (ipmi)'],
      modeled: [],
    },
    warnings: [],
  })
  return { requests, powerSamples, summary }
}
