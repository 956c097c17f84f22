/** Deep-merges plain objects (later layers win); arrays and scalars are replaced, not merged. */
export function mergeLayers(...layers: readonly unknown[]): Record<string, unknown> {
  let out: Record<string, unknown> = {}
  for (const layer of layers) if (isPlain(layer)) out = mergeTwo(out, layer)
  return out
}

function mergeTwo(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a }
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue
    const prev = out[k]
    out[k] = isPlain(prev) && isPlain(v) ? mergeTwo(prev, v) : v
  }
  return out
}

function isPlain(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}

/** Sets a dotted path in a nested object, creating objects on the way. */
export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const segs = path.split('.')
  let cur = obj
  for (let i = 0; i < segs.length - 1; i++) {
    const seg = segs[i] as string
    const next = cur[seg]
    if (!isPlain(next)) cur[seg] = {}
    cur = cur[seg] as Record<string, unknown>
  }
  cur[segs[segs.length - 1] as string] = value
}
