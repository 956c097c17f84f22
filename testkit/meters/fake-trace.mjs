// The fakes' copy of testkit/meters/trace.ts (plain JS: fakes start with bare `node`, no TypeScript loader).
export function parseTrace(text) {
  return String(text || '0:300').split(',').map((s) => {
    const [t, w] = s.split(':').map(Number)
    return { t, w }
  })
}
export function powerAt(steps, t) {
  let w = steps[0]?.w ?? 0
  for (const s of steps) if (s.t <= t) w = s.w
  return w
}
export function energyBetween(steps, a, b) {
  const cuts = [a, ...steps.map((s) => s.t).filter((t) => t > a && t < b), b]
  let j = 0
  for (let i = 0; i + 1 < cuts.length; i++) j += powerAt(steps, cuts[i]) * (cuts[i + 1] - cuts[i])
  return j
}
/** Trace time (s) now, from FAKE_T0_MS. */
export function traceNow() {
  return (Date.now() - Number(process.env.FAKE_T0_MS ?? Date.now())) / 1000
}
