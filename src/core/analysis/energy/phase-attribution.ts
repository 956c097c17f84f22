import type { Boundary, MeterInfo } from '../../ports.js'
import type { PowerSample, RequestRecord } from '../../records.js'
import type { Interval, MeterSummary } from '../../summary.js'
import { binPower } from '../power-settle.js'
import { effectiveChunkTokens } from '../request-metrics.js'

/**
 * Energy by phase: how much of a window's energy went to prefill (send → first token) and to decode
 * (first → last token), and so the joules an input token and an output token cost.
 *
 * Fit: the window is cut into equal bins (one power reading per channel per bin at least); in each bin
 * the fitted meter's power above idle is regressed, without an intercept when the idle power is known
 * (an idle window, --idle-s) and with a non-negative one when it is not, on the time-averaged number of
 * requests in prefill and in decode, by non-negative least squares:
 *
 *     P_k − idle = α · prefill_k + β · decode_k        (α, β ≥ 0: W per request in each phase)
 *
 * Prefill energy is then α × prefill request-seconds in the window, decode energy β × decode
 * request-seconds. The interval comes from a moving-block bootstrap over the bins (seeded, so a stored
 * run re-analysed gives the same interval). When the two activities move together (a deliberately
 * collinear load), one of them barely varies, or a coefficient is pinned at 0, the fit cannot tell the
 * phases apart: the energy is then split by the phases' request-seconds (a declared split) and the
 * result is labelled modelled with the reason.
 *
 * Totals (idle included) share the idle energy and the fit's residual by the phases' dynamic energy, so
 * prefill + decode = the window's energy at the boundary. Figures at the boundary are the fitted meter's
 * scaled by boundary energy ÷ meter energy (the attribution's own ratio for this window).
 */

export interface PhaseFigure {
  /** Idle share included: the phase's part of all the window's energy at the boundary, per token. */
  readonly total: number | null
  /** Above the idle baseline only: the marginal energy of the phase, per token. */
  readonly dynamic: number | null
  readonly totalInterval: Interval | null
  readonly dynamicInterval: Interval | null
}

export interface PhasesSection {
  readonly method: 'fit' | 'time-share' | 'pools'
  readonly modelled: boolean
  /** Why the fit was not used (method time-share), else null. */
  readonly reason: string | null
  readonly meterId: string
  readonly boundary: Boundary
  readonly bins: number
  /** Idle power of the fitted meter (W) and where it came from. */
  readonly idleW: number
  readonly idleSource: 'idle window' | 'fit'
  /** W per request in each phase at the fitted meter (the fit's coefficients). */
  readonly prefillWPerRequest: number
  readonly decodeWPerRequest: number
  readonly r2: number | null
  /** Request-seconds spent in each phase inside the window. */
  readonly prefillRequestS: number
  readonly decodeRequestS: number
  /** Energy of each phase in the window at the boundary (J). */
  readonly prefillEnergyJ: { readonly total: number; readonly dynamic: number }
  readonly decodeEnergyJ: { readonly total: number; readonly dynamic: number }
  /** Shares of the window's energy (total) and of request-seconds. */
  readonly prefillEnergyShare: number
  readonly prefillTimeShare: number
  /** Input tokens prefilled in the window (prompt tokens less cached ones), the cached ones, and decode tokens (after each request's first). */
  readonly inputTokens: number
  readonly cachedInputTokens: number
  readonly decodeTokens: number
  /** Prefill energy (total) over every prompt token, cached ones included: what a prefix-cache hit saves shows here. */
  readonly joulesPerPromptTokenWithCache: number | null
}

export interface PhaseAttribution {
  readonly joulesPerInputToken: PhaseFigure
  readonly joulesPerOutputTokenDecode: PhaseFigure
  readonly phases: PhasesSection
  readonly warnings: readonly string[]
}

export interface PhaseAttributionInput {
  readonly records: readonly RequestRecord[]
  readonly samples: readonly PowerSample[]
  readonly meters: readonly MeterInfo[]
  /** The run's meter summaries (their window energy and idle power). */
  readonly meterSummaries: readonly MeterSummary[]
  readonly window: { readonly startNs: number; readonly endNs: number }
  readonly boundary: Boundary
  /** The window's energy at the boundary (J). */
  readonly boundaryEnergyJ: number
  /** Our wall-clock ms at run time 0: readings that carry the source's own timestamp are placed by it. */
  readonly epochWallMs?: number | null
  /** Bootstrap replicates (default 200). */
  readonly replicates?: number
}

/**
 * Readings placed at their source's own time where they carry one (less the meter's median clock
 * offset), not when they reached us: a reading stamped on arrival is late by a jittering transit and
 * event-loop delay, and that jitter, against spans of a few tens of ms, biases the fit toward zero.
 */
function onSourceTime(samples: readonly PowerSample[], meters: readonly MeterSummary[], epochWallMs: number | null | undefined): readonly PowerSample[] {
  if (epochWallMs === null || epochWallMs === undefined) return samples
  const offsets = new Map(meters.filter((m) => m.clockOffsetMs !== null).map((m) => [m.id, m.clockOffsetMs as number]))
  if (offsets.size === 0) return samples
  return samples.map((s) => {
    const off = offsets.get(s.meterId)
    return off === undefined || s.sourceTimeMs === null ? s : { ...s, atNs: (s.sourceTimeMs - off - epochWallMs) * 1e6 }
  })
}

const MAX_BINS = 200
const MIN_BINS = 12
/**
 * Above these the fit cannot tell the activities apart: the centred correlation (with an intercept),
 * or the cosine of the two columns (without one; 0.995 is a condition number of the Gram matrix of 400).
 */
const COLLINEAR_CENTRED = 0.97
const COLLINEAR_RAW = 0.995
/** Relative spread (sd / mean) below which an activity is treated as constant. */
const FLAT = 0.02

interface Design {
  readonly y: Float64Array
  readonly a: Float64Array
  readonly b: Float64Array
}

interface Fit {
  readonly c: number
  readonly alpha: number
  readonly beta: number
  readonly sse: number
}

/** Least squares of y on the chosen columns (constant, a, b) by the normal equations; null when singular. */
function lsq(d: Design, idx: readonly number[], cols: readonly ('c' | 'a' | 'b')[]): Record<'c' | 'a' | 'b', number> | null {
  const k = cols.length
  const col = (name: 'c' | 'a' | 'b', i: number): number => (name === 'c' ? 1 : name === 'a' ? (d.a[i] as number) : (d.b[i] as number))
  const m = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0))
  for (const i of idx) {
    for (let r = 0; r < k; r++) {
      const x = col(cols[r] as 'c', i)
      const row = m[r] as number[]
      for (let c = 0; c < k; c++) row[c] = (row[c] as number) + x * col(cols[c] as 'c', i)
      row[k] = (row[k] as number) + x * (d.y[i] as number)
    }
  }
  // Gaussian elimination with partial pivoting
  for (let p = 0; p < k; p++) {
    let piv = p
    for (let r = p + 1; r < k; r++) if (Math.abs((m[r] as number[])[p] as number) > Math.abs((m[piv] as number[])[p] as number)) piv = r
    ;[m[p], m[piv]] = [m[piv] as number[], m[p] as number[]]
    const pr = m[p] as number[]
    if (Math.abs(pr[p] as number) < 1e-12) return null
    for (let r = 0; r < k; r++) {
      if (r === p) continue
      const row = m[r] as number[]
      const f = (row[p] as number) / (pr[p] as number)
      for (let c = p; c <= k; c++) row[c] = (row[c] as number) - f * (pr[c] as number)
    }
  }
  const out = { c: 0, a: 0, b: 0 }
  cols.forEach((name, r) => (out[name] = ((m[r] as number[])[k] as number) / ((m[r] as number[])[r] as number)))
  return out
}

/** Non-negative least squares over at most three columns: the best of every subset whose solution is ≥ 0. */
function nnls(d: Design, idx: readonly number[], intercept: boolean): Fit | null {
  const names: ('c' | 'a' | 'b')[] = intercept ? ['c', 'a', 'b'] : ['a', 'b']
  let best: Fit | null = null
  for (let mask = 1; mask < 1 << names.length; mask++) {
    const cols = names.filter((_, i) => mask & (1 << i))
    const sol = lsq(d, idx, cols)
    if (sol === null || cols.some((c) => sol[c] < 0)) continue
    let sse = 0
    for (const i of idx) sse += ((d.y[i] as number) - sol.c - sol.a * (d.a[i] as number) - sol.b * (d.b[i] as number)) ** 2
    if (best === null || sse < best.sse - 1e-12) best = { c: sol.c, alpha: sol.a, beta: sol.b, sse }
  }
  return best
}

function stats(x: Float64Array): { mean: number; sd: number } {
  let m = 0
  for (const v of x) m += v
  m /= x.length
  let s = 0
  for (const v of x) s += (v - m) ** 2
  return { mean: m, sd: Math.sqrt(s / Math.max(1, x.length - 1)) }
}

function correlation(x: Float64Array, y: Float64Array, centred: boolean): number {
  const mx = centred ? stats(x).mean : 0
  const my = centred ? stats(y).mean : 0
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (let i = 0; i < x.length; i++) {
    const dx = (x[i] as number) - mx
    const dy = (y[i] as number) - my
    sxy += dx * dy
    sxx += dx * dx
    syy += dy * dy
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 1
}

/** Spans of the window with the fitted meter's mean power over each (ascending, not overlapping). */
interface PowerSpans {
  readonly meterId: string
  readonly startNs: Float64Array
  readonly endNs: Float64Array
  readonly powerW: Float64Array
}

/**
 * The fitted meter's power over spans of the window. A meter with one channel and an energy counter
 * gives exact mean power between its readings (consecutive readings merged to at most MAX_BINS spans);
 * any other gives equal bins of its readings summed over channels.
 */
function powerSpans(samples: readonly PowerSample[], ids: ReadonlySet<string>, win: { startNs: number; endNs: number }): PowerSpans | null {
  const binned = binPower(samples, win.startNs, win.endNs, { maxBins: MAX_BINS, minBins: MIN_BINS, meterIds: ids })
  if (binned === null) return null
  const own = samples.filter((s) => s.meterId === binned.meterId).sort((x, y) => x.atNs - y.atNs)
  const channels = new Set(own.map((s) => s.channel))
  const inWin = own.filter((s) => s.atNs >= win.startNs && s.atNs <= win.endNs)
  if (channels.size === 1 && inWin.length > MIN_BINS && inWin.every((s) => s.energyJ !== null)) {
    const step = Math.max(1, Math.ceil((inWin.length - 1) / MAX_BINS))
    const st: number[] = []
    const en: number[] = []
    const pw: number[] = []
    for (let i = 0; i + step < inWin.length; i += step) {
      const a = inWin[i] as PowerSample
      const b = inWin[i + step] as PowerSample
      const dE = (b.energyJ as number) - (a.energyJ as number)
      if (!(b.atNs > a.atNs) || dE < 0) continue // a counter reset: leave the span out
      st.push(a.atNs)
      en.push(b.atNs)
      pw.push((dE * 1e9) / (b.atNs - a.atNs))
    }
    if (st.length >= MIN_BINS) return { meterId: binned.meterId, startNs: Float64Array.from(st), endNs: Float64Array.from(en), powerW: Float64Array.from(pw) }
  }
  const n = binned.powerW.length
  return {
    meterId: binned.meterId,
    startNs: Float64Array.from({ length: n }, (_, k) => binned.fromNs + k * binned.binNs),
    endNs: Float64Array.from({ length: n }, (_, k) => binned.fromNs + (k + 1) * binned.binNs),
    powerW: Float64Array.from(binned.powerW),
  }
}

/** Adds the overlap (s) of [s, e] with each span to `into` (request-seconds per span). */
function addInterval(into: Float64Array, spans: PowerSpans, s: number, e: number): void {
  if (!(e > s)) return
  // first span ending after s (spans are ascending)
  let lo = 0
  let hi = spans.endNs.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((spans.endNs[mid] as number) <= s) lo = mid + 1
    else hi = mid
  }
  for (let k = lo; k < spans.startNs.length && (spans.startNs[k] as number) < e; k++) {
    const ov = Math.min(e, spans.endNs[k] as number) - Math.max(s, spans.startNs[k] as number)
    if (ov > 0) into[k] = (into[k] as number) + ov / 1e9
  }
}

/** A seeded generator for the bootstrap (same run, same interval). */
function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

function percentile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  const i = Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))
  return s[i] as number
}

interface PhaseCounts {
  readonly inputTokens: number
  readonly cachedTokens: number
  readonly decodeTokens: number
  readonly prefillRequestS: number
  readonly decodeRequestS: number
}

/**
 * What the window holds of each phase: prompt tokens prefilled (in proportion to each request's prefill
 * time inside the window; cached ones apart), decode tokens (chunks after each request's first, by
 * arrival), and request-seconds in each phase.
 */
function phaseCounts(records: readonly RequestRecord[], win: { readonly startNs: number; readonly endNs: number }): PhaseCounts {
  let inputTokens = 0
  let cachedTokens = 0
  let decodeTokens = 0
  let prefillRequestS = 0
  let decodeRequestS = 0
  const inside = (s: number, e: number): number => Math.max(0, Math.min(e, win.endNs) - Math.max(s, win.startNs)) / 1e9
  for (const r of records) {
    if (r.phase !== 'measure') continue
    const first = r.chunkAtNs[0]
    const end = r.lastByteAtNs ?? first ?? r.sentAtNs
    const prefillEnd = first ?? end
    prefillRequestS += inside(r.sentAtNs, prefillEnd)
    if (first !== undefined) decodeRequestS += inside(first, end)
    const len = prefillEnd - r.sentAtNs
    const share = len > 0 ? (inside(r.sentAtNs, prefillEnd) * 1e9) / len : r.sentAtNs >= win.startNs && r.sentAtNs <= win.endNs ? 1 : 0
    if (r.inputTokens !== null) {
      const cached = Math.min(r.inputTokens, r.cachedInputTokens ?? 0)
      inputTokens += (r.inputTokens - cached) * share
      cachedTokens += cached * share
    }
    const tokens = effectiveChunkTokens(r)
    for (let i = 1; i < r.chunkAtNs.length; i++) {
      const t = r.chunkAtNs[i] as number
      if (t >= win.startNs && t <= win.endNs) decodeTokens += tokens[i] ?? 1
    }
  }
  return { inputTokens, cachedTokens, decodeTokens, prefillRequestS, decodeRequestS }
}

/**
 * Disaggregated serving: meters labelled `pool: prefill` and `pool: decode` read each phase's workers,
 * so the phases are measured, not fitted: each pool's window energy (above its own idle where an idle
 * window was measured), scaled to the boundary like the fit's figures, with the meters' intervals.
 */
function measuredPools(input: PhaseAttributionInput, counts: PhaseCounts): PhaseAttribution | null {
  const windowS = (input.window.endNs - input.window.startNs) / 1e9
  const pool = (name: 'prefill' | 'decode'): { energyJ: number; idleJ: number | null; low: number; high: number; ids: string[] } | null => {
    const ids = new Set(input.meters.filter((m) => m.pool === name).map((m) => m.id))
    const ms = input.meterSummaries.filter((m) => ids.has(m.id) && m.energyJ !== null)
    if (ms.length === 0) return null
    const idle = ms.every((m) => m.idleW !== null) ? ms.reduce((t, m) => t + (m.idleW as number) * windowS, 0) : null
    const e = ms.reduce((t, m) => t + (m.energyJ as number), 0)
    return { energyJ: e, idleJ: idle, low: ms.reduce((t, m) => t + (m.energyInterval?.low ?? (m.energyJ as number)), 0), high: ms.reduce((t, m) => t + (m.energyInterval?.high ?? (m.energyJ as number)), 0), ids: ms.map((m) => m.id) }
  }
  const pre = pool('prefill')
  const dec = pool('decode')
  if (pre === null || dec === null) return null
  const metered = pre.energyJ + dec.energyJ
  const scale = metered > 0 ? input.boundaryEnergyJ / metered : 1
  const c = counts
  const fig = (p: NonNullable<typeof pre>, tokens: number): PhaseFigure => {
    const dyn = p.idleJ !== null ? Math.max(0, p.energyJ - p.idleJ) : null
    const dynLow = p.idleJ !== null ? Math.max(0, p.low - p.idleJ) : null
    const dynHigh = p.idleJ !== null ? Math.max(0, p.high - p.idleJ) : null
    return {
      total: tokens > 0 ? (p.energyJ * scale) / tokens : null,
      dynamic: dyn !== null && tokens > 0 ? (dyn * scale) / tokens : null,
      totalInterval: tokens > 0 ? { low: (p.low * scale) / tokens, high: (p.high * scale) / tokens } : null,
      dynamicInterval: dynLow !== null && dynHigh !== null && tokens > 0 ? { low: (dynLow * scale) / tokens, high: (dynHigh * scale) / tokens } : null,
    }
  }
  const idleW = pre.idleJ !== null && dec.idleJ !== null ? (pre.idleJ + dec.idleJ) / windowS : 0
  const preDyn = pre.idleJ !== null ? Math.max(0, pre.energyJ - pre.idleJ) : pre.energyJ
  const decDyn = dec.idleJ !== null ? Math.max(0, dec.energyJ - dec.idleJ) : dec.energyJ
  const timeTotal = c.prefillRequestS + c.decodeRequestS
  return {
    joulesPerInputToken: fig(pre, c.inputTokens),
    joulesPerOutputTokenDecode: fig(dec, c.decodeTokens),
    phases: {
      method: 'pools',
      modelled: false,
      reason: null,
      meterId: [...pre.ids, ...dec.ids].join('+'),
      boundary: input.boundary,
      bins: 0,
      idleW,
      idleSource: pre.idleJ !== null && dec.idleJ !== null ? 'idle window' : 'fit',
      prefillWPerRequest: c.prefillRequestS > 0 ? preDyn / c.prefillRequestS : 0,
      decodeWPerRequest: c.decodeRequestS > 0 ? decDyn / c.decodeRequestS : 0,
      r2: null,
      prefillRequestS: c.prefillRequestS,
      decodeRequestS: c.decodeRequestS,
      prefillEnergyJ: { total: pre.energyJ * scale, dynamic: preDyn * scale },
      decodeEnergyJ: { total: dec.energyJ * scale, dynamic: decDyn * scale },
      prefillEnergyShare: metered > 0 ? pre.energyJ / metered : 0,
      prefillTimeShare: timeTotal > 0 ? c.prefillRequestS / timeTotal : 0,
      inputTokens: c.inputTokens,
      cachedInputTokens: c.cachedTokens,
      decodeTokens: c.decodeTokens,
      joulesPerPromptTokenWithCache: c.inputTokens + c.cachedTokens > 0 ? (pre.energyJ * scale) / (c.inputTokens + c.cachedTokens) : null,
    },
    warnings: [],
  }
}

/**
 * Phase attribution of one window (see the file header). Null when there is nothing to attribute: no
 * meter with enough readings in the window, or no request activity in it.
 */
export function attributePhases(input: PhaseAttributionInput): PhaseAttribution | null {
  const win = input.window
  const pooled = measuredPools(input, phaseCounts(input.records, win))
  if (pooled !== null) return pooled
  const measuredIds = new Set(input.meters.filter((m) => !m.estimated && m.pool === undefined).map((m) => m.id))
  const spans = powerSpans(onSourceTime(input.samples, input.meterSummaries, input.epochWallMs), measuredIds.size > 0 ? measuredIds : new Set(input.meters.map((m) => m.id)), win)
  if (spans === null) return null
  const n = spans.powerW.length
  const spanS = Float64Array.from({ length: n }, (_, k) => ((spans.endNs[k] as number) - (spans.startNs[k] as number)) / 1e9)
  // request-seconds per span in each phase, the request timeline shifted by `shiftNs` against the readings
  const activity = (shiftNs: number): { a: Float64Array; b: Float64Array } => {
    const pre = new Float64Array(n)
    const dec = new Float64Array(n)
    for (const r of input.records) {
      if (r.phase !== 'measure') continue
      const first = r.chunkAtNs[0]
      const end = r.lastByteAtNs ?? first ?? r.sentAtNs
      addInterval(pre, spans, r.sentAtNs + shiftNs, (first ?? end) + shiftNs)
      if (first !== undefined) addInterval(dec, spans, first + shiftNs, end + shiftNs)
    }
    return { a: pre.map((x, k) => x / (spanS[k] as number)), b: dec.map((x, k) => x / (spanS[k] as number)) }
  }
  const { inputTokens, cachedTokens, decodeTokens, prefillRequestS, decodeRequestS } = phaseCounts(input.records, win)
  // mean requests in each phase per span
  const { a, b } = activity(0)
  if (prefillRequestS + decodeRequestS <= 0) return null

  const meter = input.meterSummaries.find((m) => m.id === spans.meterId)
  const windowS = (win.endNs - win.startNs) / 1e9
  const meterEnergyJ = meter?.energyJ ?? spans.powerW.reduce((s, p, k) => s + p * (spanS[k] as number), 0)
  const scale = meterEnergyJ > 0 ? input.boundaryEnergyJ / meterEnergyJ : 1
  const knownIdle = meter?.idleW ?? null
  const y = Float64Array.from(spans.powerW, (p) => p - (knownIdle ?? 0))
  const design: Design = { y, a, b }
  const all = Array.from({ length: n }, (_, i) => i)
  const warnings: string[] = []

  // Can the fit tell the phases apart?
  const sa = stats(a)
  const sb = stats(b)
  const intercept = knownIdle === null
  let reason: string | null = null
  if (!(sa.mean > 0) || sa.sd / sa.mean < FLAT) reason = 'the number of requests in prefill barely varied in the window'
  else if (!(sb.mean > 0) || sb.sd / sb.mean < FLAT) reason = 'the number of requests in decode barely varied in the window'
  else if (Math.abs(correlation(a, b, intercept)) > (intercept ? COLLINEAR_CENTRED : COLLINEAR_RAW))
    reason = intercept
      ? 'prefill and decode activity moved together, and without an idle baseline their sum is confounded with idle power (--idle-s measures one)'
      : 'prefill and decode activity moved together'
  const fit = reason === null ? nnls(design, all, intercept) : null
  if (reason === null && fit === null) reason = 'the regression was singular'
  if (reason === null && fit !== null && (fit.alpha <= 0 || fit.beta <= 0)) reason = `the fit pinned the ${fit.alpha <= 0 ? 'prefill' : 'decode'} power at 0`

  const figures = (al: number, be: number): { pre: { total: number; dynamic: number }; dec: { total: number; dynamic: number } } => {
    const preDyn = al * prefillRequestS
    const decDyn = be * decodeRequestS
    const dyn = preDyn + decDyn
    // idle energy and the fit's residual, shared by the phases' dynamic energy
    const rest = meterEnergyJ - dyn
    const preShare = dyn > 0 ? preDyn / dyn : prefillRequestS / (prefillRequestS + decodeRequestS)
    return { pre: { total: (preDyn + rest * preShare) * scale, dynamic: preDyn * scale }, dec: { total: (decDyn + rest * (1 - preShare)) * scale, dynamic: decDyn * scale } }
  }
  const per = (j: number, tokens: number): number | null => (tokens > 0 ? j / tokens : null)

  // The fit's interval: a moving-block bootstrap over the spans.
  let intervals: { inT: Interval; inD: Interval; outT: Interval; outD: Interval } | null = null
  if (reason === null && fit !== null) {
    const rand = lcg(0x7a11)
    const block = Math.max(2, Math.round(n / 20))
    const reps = input.replicates ?? 200
    const xs: { inT: number[]; inD: number[]; outT: number[]; outD: number[] } = { inT: [], inD: [], outT: [], outD: [] }
    const shifted: ReturnType<typeof figures>[] = []
    for (let r = 0; r < reps; r++) {
      const idx: number[] = []
      while (idx.length < n) {
        const start = Math.floor(rand() * (n - block + 1))
        for (let k = 0; k < block && idx.length < n; k++) idx.push(start + k)
      }
      const f = nnls(design, idx, intercept)
      if (f === null) continue
      const fg = figures(f.alpha, f.beta)
      if (inputTokens > 0) {
        xs.inT.push(fg.pre.total / inputTokens)
        xs.inD.push(fg.pre.dynamic / inputTokens)
      }
      if (decodeTokens > 0) {
        xs.outT.push(fg.dec.total / decodeTokens)
        xs.outD.push(fg.dec.dynamic / decodeTokens)
      }
    }
    // Timing: the readings' times are known to about a quarter of the gap between them plus half the
    // source's averaging window; the fit again with the request timeline shifted by that much either way.
    const meterInfo = input.meters.find((m) => m.id === spans.meterId)
    const meanSpanNs = ((spans.endNs[n - 1] as number) - (spans.startNs[0] as number)) / n
    const shiftNs = meanSpanNs / 4 + ((meterInfo?.averagingWindowMs ?? 0) * 1e6) / 2
    for (const sh of [-shiftNs, shiftNs]) {
      const act = activity(sh)
      const f = nnls({ y, a: act.a, b: act.b }, all, intercept)
      if (f === null) continue
      shifted.push(figures(f.alpha, f.beta))
    }
    // Idle: the fit again at both ends of the idle power's own interval.
    const idleI = meter?.idleWInterval
    if (knownIdle !== null && idleI) {
      for (const idle of [idleI.low, idleI.high]) {
        const f = nnls({ y: Float64Array.from(spans.powerW, (p) => p - idle), a, b }, all, false)
        if (f !== null) shifted.push(figures(f.alpha, f.beta))
      }
    }
    const iv = (v: number[], k: 'pre' | 'dec', which: 'total' | 'dynamic', tokens: number): Interval => {
      const low = percentile(v, 0.025)
      const high = percentile(v, 0.975)
      const ends = shifted.map((fg) => fg[k][which] / tokens)
      return { low: Math.min(low, ...ends), high: Math.max(high, ...ends) }
    }
    if (xs.inT.length > 10 && xs.outT.length > 10)
      intervals = { inT: iv(xs.inT, 'pre', 'total', inputTokens), inD: iv(xs.inD, 'pre', 'dynamic', inputTokens), outT: iv(xs.outT, 'dec', 'total', decodeTokens), outD: iv(xs.outD, 'dec', 'dynamic', decodeTokens) }
    // an interval wider than the estimate itself: the data do not separate the phases
    const pre = fit.alpha * prefillRequestS
    const dec = fit.beta * decodeRequestS
    const wide = (i: Interval | undefined, v: number, tokens: number): boolean => i !== undefined && tokens > 0 && (i.high - i.low) * tokens > v * scale
    if (intervals && (wide(intervals.inD, pre, inputTokens) || wide(intervals.outD, dec, decodeTokens))) {
      reason = `the fit's 95 % interval is wider than its estimate (${wide(intervals.inD, pre, inputTokens) ? 'prefill' : 'decode'})`
      intervals = null
    }
  }

  const idleW = knownIdle ?? (fit !== null && reason === null ? fit.c : 0)
  let alpha: number
  let beta: number
  let r2: number | null = null
  if (reason === null && fit !== null) {
    alpha = fit.alpha
    beta = fit.beta
    const my = stats(y).mean
    let sst = 0
    for (const v of y) sst += (v - my) ** 2
    r2 = sst > 0 ? 1 - fit.sse / sst : null
  } else {
    // declared split: the window's energy above idle shared by request-seconds
    const perRequestW = Math.max(0, meterEnergyJ - idleW * windowS) / (prefillRequestS + decodeRequestS)
    alpha = perRequestW
    beta = perRequestW
    warnings.push(`energy by phase is modelled, not measured: ${reason ?? 'no fit'}; the window's energy above idle was split by the phases' request-seconds`)
  }
  const point = figures(alpha, beta)

  const total = point.pre.total + point.dec.total
  return {
    joulesPerInputToken: { total: per(point.pre.total, inputTokens), dynamic: per(point.pre.dynamic, inputTokens), totalInterval: intervals?.inT ?? null, dynamicInterval: intervals?.inD ?? null },
    joulesPerOutputTokenDecode: { total: per(point.dec.total, decodeTokens), dynamic: per(point.dec.dynamic, decodeTokens), totalInterval: intervals?.outT ?? null, dynamicInterval: intervals?.outD ?? null },
    phases: {
      method: reason === null ? 'fit' : 'time-share',
      modelled: reason !== null,
      reason,
      meterId: spans.meterId,
      boundary: input.boundary,
      bins: n,
      idleW,
      idleSource: knownIdle !== null ? 'idle window' : 'fit',
      prefillWPerRequest: alpha,
      decodeWPerRequest: beta,
      r2,
      prefillRequestS,
      decodeRequestS,
      prefillEnergyJ: point.pre,
      decodeEnergyJ: point.dec,
      prefillEnergyShare: total > 0 ? point.pre.total / total : 0,
      prefillTimeShare: prefillRequestS / (prefillRequestS + decodeRequestS),
      inputTokens,
      cachedInputTokens: cachedTokens,
      decodeTokens,
      joulesPerPromptTokenWithCache: per(point.pre.total, inputTokens + cachedTokens),
    },
    warnings,
  }
}
