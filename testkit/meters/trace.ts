/**
 * The scripted power trace the meter fakes (NVML stub, fake nvidia-smi / amd-smi) are driven by:
 * `"t0:w0,t1:w1,..."`, piecewise constant, seconds from a wall-clock origin T0 (Unix ms). The fakes
 * carry their own copy of this arithmetic (C and plain JS); this one gives tests the exact answer.
 */
export interface Step {
  readonly t: number
  readonly w: number
}

export function parseTrace(text: string): Step[] {
  return text.split(',').map((s) => {
    const [t, w] = s.split(':').map(Number)
    return { t: t ?? 0, w: w ?? 0 }
  })
}

export function powerAt(steps: readonly Step[], t: number): number {
  let w = steps[0]?.w ?? 0
  for (const s of steps) if (s.t <= t) w = s.w
  return w
}

/** Exact energy (J) of the trace between trace times a and b (s). */
export function energyBetween(steps: readonly Step[], a: number, b: number): number {
  const cuts = [a, ...steps.map((s) => s.t).filter((t) => t > a && t < b), b]
  let j = 0
  for (let i = 0; i + 1 < cuts.length; i++) j += powerAt(steps, cuts[i] as number) * ((cuts[i + 1] as number) - (cuts[i] as number))
  return j
}
