/**
 * A simulated accelerator for sweeps, tests and demos: token speed and power answer the power cap,
 * the locked SM clock and the batch by a documented model whose optimum is known in closed form.
 *
 * - Clock (DVFS). Dynamic power grows with the cube of the clock (P ∝ f·V², V ∝ f), so the highest
 *   relative clock a cap allows at full activity is
 *   `fCap = min(1, (capW − idleW − uncoreW) / dynamicW)^(1/3)`; a locked clock limits it further,
 *   `f = max(fMin, min(fCap, lockedMHz / smClockMaxMHz))`.
 * - Decode step time grows with the batch b: `stepMs(b) = baseItlMs × (1 + batchSlope × (b − 1))`;
 *   each stream gets one token per step, so `itlMs = stepMs(b) / f` and tokens/s = `b × f / stepMs(b)`.
 * - Power: `idleW + activity(b) × (uncoreW + dynamicW × f³)` with `activity(b) = b / (b + halfBatch)`
 *   (0 when idle), never above the cap.
 * - Energy per output token `J(f, b) = power × stepMs(b) / (1000 × b × f)`; for a fixed batch it is
 *   smallest at `f* = ((idleW + a·uncoreW) / (2·a·dynamicW))^(1/3)`, a = activity(b) — the cap that
 *   gives it is `capForClock(f*)`. An SLO on TPOT adds `f ≥ stepMs(b) / tpotMs`.
 */
export interface DeviceParams {
  readonly idleW: number
  /** Power an active device draws whatever its clock (memory, uncore). */
  readonly uncoreW: number
  /** Clock-dependent power at f = 1 and full activity. */
  readonly dynamicW: number
  readonly smClockMaxMHz: number
  /** Lowest relative clock the device runs at. */
  readonly fMin: number
  /** Decode step at batch 1 and full clock. */
  readonly baseItlMs: number
  /** Relative growth of the step per extra sequence in the batch. */
  readonly batchSlope: number
  /** Batch at which activity is one half. */
  readonly halfBatch: number
}

export const DEFAULT_DEVICE: DeviceParams = {
  idleW: 100,
  uncoreW: 150,
  dynamicW: 450,
  smClockMaxMHz: 1980,
  fMin: 0.3,
  baseItlMs: 10,
  batchSlope: 0.08,
  halfBatch: 2,
}

/** Board power at full clock and full activity: the default (and highest) power limit. */
export function tdpW(p: DeviceParams): number {
  return p.idleW + p.uncoreW + p.dynamicW
}

/** Lowest cap the model accepts (the clock floor at full activity). */
export function minCapW(p: DeviceParams): number {
  return capForClock(p, p.fMin)
}

/** The cap at which full activity runs at relative clock f. */
export function capForClock(p: DeviceParams, f: number): number {
  return p.idleW + p.uncoreW + p.dynamicW * f ** 3
}

/** Relative clock (0..1] under a cap and an optional locked clock (0 or null: not locked). */
export function relativeClock(p: DeviceParams, capW: number, lockedMHz: number | null): number {
  const head = (capW - p.idleW - p.uncoreW) / p.dynamicW
  let f = Math.cbrt(Math.min(1, Math.max(0, head)))
  if (lockedMHz !== null && lockedMHz > 0) f = Math.min(f, lockedMHz / p.smClockMaxMHz)
  return Math.max(p.fMin, Math.min(1, f))
}

export function activity(p: DeviceParams, batch: number): number {
  return batch <= 0 ? 0 : batch / (batch + p.halfBatch)
}

export function stepMs(p: DeviceParams, batch: number): number {
  return p.baseItlMs * (1 + p.batchSlope * Math.max(0, batch - 1))
}

/** Time between tokens of one stream at a batch and clock. */
export function itlMs(p: DeviceParams, batch: number, f: number): number {
  return stepMs(p, Math.max(1, batch)) / f
}

export function powerW(p: DeviceParams, batch: number, f: number, capW: number): number {
  const w = p.idleW + activity(p, batch) * (p.uncoreW + p.dynamicW * f ** 3)
  return Math.min(w, Math.max(capW, p.idleW))
}

/** Energy per output token at a steady batch (J). */
export function joulesPerToken(p: DeviceParams, batch: number, f: number, capW: number): number {
  return (powerW(p, batch, f, capW) * itlMs(p, batch, f)) / (1000 * Math.max(1, batch))
}

/** Whether the device runs against its cap at this batch (the clock the cap allows is below 1). */
export function atPowerCap(p: DeviceParams, batch: number, capW: number): boolean {
  return batch > 0 && relativeClock(p, capW, null) < 1
}
