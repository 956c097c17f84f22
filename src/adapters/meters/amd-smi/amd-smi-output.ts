/**
 * Readers for `amd-smi metric -p -E` output (research/power-sources.md §3): JSON as a top-level array
 * (older releases) or `{"gpu_data": [...]}` (ROCm 7.x), values as `{"value", "unit"}`, bare numbers or
 * "N/A"; and the human format (`GPU: 0` blocks with `SOCKET_POWER: 20 W`,
 * `TOTAL_ENERGY_CONSUMPTION: 1.004 J`). MI200 reports `average_socket_power` with current N/A, MI300
 * the reverse; the energy key was `power` (counts × `counter_resolution` µJ) in ROCm 6.0's binding.
 */
export interface AmdGpuReading {
  readonly gpu: number
  readonly powerW: number | null
  readonly energyJ: number | null
}

const POWER_SCALE: Record<string, number> = { w: 1, mw: 1e-3, uw: 1e-6, 'µw': 1e-6, kw: 1e3 }
const ENERGY_SCALE: Record<string, number> = { j: 1, mj: 1e-3, uj: 1e-6, 'µj': 1e-6, kj: 1e3, wh: 3600, kwh: 3.6e6 }

function quantity(v: unknown, scales: Record<string, number>, defaultUnit: string): number | null {
  if (v === null || v === undefined) return null
  if (typeof v === 'number') return Number.isFinite(v) ? v * (scales[defaultUnit] ?? 1) : null
  if (typeof v === 'string') {
    const m = /^\s*([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*([A-Za-zµ]*)\s*$/.exec(v)
    if (!m) return null
    const unit = (m[2] || defaultUnit).toLowerCase()
    const scale = scales[unit]
    return scale === undefined ? null : Number(m[1]) * scale
  }
  if (typeof v === 'object') {
    const o = v as { value?: unknown; unit?: unknown }
    if (!('value' in o)) return null
    const unit = typeof o.unit === 'string' ? o.unit.toLowerCase() : defaultUnit
    const scale = scales[unit]
    const n = typeof o.value === 'number' ? o.value : typeof o.value === 'string' ? Number(o.value) : NaN
    return scale === undefined || !Number.isFinite(n) ? null : n * scale
  }
  return null
}

/** One GPU entry of the JSON output. */
export function readAmdGpuEntry(entry: unknown): AmdGpuReading | null {
  if (entry === null || typeof entry !== 'object') return null
  const e = entry as Record<string, unknown>
  const gpu = typeof e.gpu === 'number' ? e.gpu : typeof e.gpu === 'string' ? Number(e.gpu) : NaN
  if (!Number.isInteger(gpu)) return null
  const power = (e.power ?? {}) as Record<string, unknown>
  const energy = (e.energy ?? {}) as Record<string, unknown>
  const powerW =
    quantity(power.socket_power, POWER_SCALE, 'w') ?? quantity(power.current_socket_power, POWER_SCALE, 'w') ?? quantity(power.average_socket_power, POWER_SCALE, 'w')
  let energyJ = quantity(energy.total_energy_consumption, ENERGY_SCALE, 'j')
  if (energyJ === null) {
    // library-shaped keys: a raw accumulator times its resolution in µJ
    const counts = typeof energy.energy_accumulator === 'number' ? energy.energy_accumulator : typeof energy.power === 'number' ? energy.power : null
    const res = typeof energy.counter_resolution === 'number' ? energy.counter_resolution : null
    if (counts !== null && res !== null) energyJ = counts * res * 1e-6
  }
  return { gpu, powerW, energyJ }
}

/** The power cap and its range of one GPU in `amd-smi static --limit --json` (limit.socket_power, min_power, max_power). */
export interface AmdPowerLimits {
  readonly gpu: number
  readonly capW: number | null
  readonly minW: number | null
  readonly maxW: number | null
}

export function readAmdLimits(doc: unknown): AmdPowerLimits[] {
  const list = Array.isArray(doc) ? doc : doc !== null && typeof doc === 'object' && Array.isArray((doc as { gpu_data?: unknown }).gpu_data) ? (doc as { gpu_data: unknown[] }).gpu_data : []
  const out: AmdPowerLimits[] = []
  for (const e of list) {
    if (e === null || typeof e !== 'object') continue
    const r = e as Record<string, unknown>
    const gpu = typeof r.gpu === 'number' ? r.gpu : Number(r.gpu)
    const limit = (r.limit ?? {}) as Record<string, unknown>
    if (!Number.isInteger(gpu)) continue
    out.push({ gpu, capW: quantity(limit.socket_power, POWER_SCALE, 'w'), minW: quantity(limit.min_power, POWER_SCALE, 'w'), maxW: quantity(limit.max_power, POWER_SCALE, 'w') })
  }
  return out
}

/** Every GPU reading in one JSON document (array or `{gpu_data}`). */
export function readAmdJson(doc: unknown): AmdGpuReading[] {
  const list = Array.isArray(doc) ? doc : doc !== null && typeof doc === 'object' && Array.isArray((doc as { gpu_data?: unknown }).gpu_data) ? (doc as { gpu_data: unknown[] }).gpu_data : []
  return list.map(readAmdGpuEntry).filter((x): x is AmdGpuReading => x !== null)
}

/**
 * Splits a growing stream of concatenated JSON documents (what a watch loop prints) into complete
 * top-level values; text outside them (timestamps, banners) is skipped.
 */
export class JsonStreamSplitter {
  private buf = ''
  /** Scan state, kept across pushes so each byte is looked at once. */
  private pos = 0
  private start = -1
  private depth = 0
  private inString = false
  private escaped = false

  push(text: string): unknown[] {
    this.buf += text
    const out: unknown[] = []
    const b = this.buf
    let consumed = this.start >= 0 ? this.start : this.pos
    for (let i = this.pos; i < b.length; i++) {
      const c = b.charCodeAt(i)
      if (this.inString) {
        if (this.escaped) this.escaped = false
        else if (c === 92 /* \\ */) this.escaped = true
        else if (c === 34 /* " */) this.inString = false
        continue
      }
      if (this.depth === 0) {
        if (c === 123 /* { */ || c === 91 /* [ */) {
          this.start = i
          this.depth = 1
        } else consumed = i + 1
        continue
      }
      if (c === 34) this.inString = true
      else if (c === 123 || c === 91) this.depth++
      else if (c === 125 /* } */ || c === 93 /* ] */) {
        this.depth--
        if (this.depth === 0) {
          try {
            out.push(JSON.parse(b.slice(this.start, i + 1)))
          } catch {
            // a bracketed banner, not JSON: skip it
          }
          consumed = i + 1
          this.start = -1
        }
      }
    }
    // keep only the unfinished document (or nothing), and rebase the scan position onto it
    const keepFrom = this.start >= 0 ? this.start : consumed
    this.buf = b.slice(keepFrom)
    this.pos = b.length - keepFrom
    if (this.start >= 0) this.start = 0
    if (this.buf.length > 1 << 20) this.reset() // runaway: never hold more than 1 MiB
    return out
  }

  private reset(): void {
    this.buf = ''
    this.pos = 0
    this.start = -1
    this.depth = 0
    this.inString = false
    this.escaped = false
  }
}

/** The human format: `GPU: N` blocks with SOCKET_POWER / TOTAL_ENERGY_CONSUMPTION lines. */
export class AmdTextReader {
  private gpu: number | null = null
  private power: number | null = null
  private energy: number | null = null

  /** Feeds one line; returns a GPU's reading when its block ends (at the next `GPU:` or `flush()`). */
  line(text: string): AmdGpuReading | null {
    const g = /^\s*GPU:\s*(\d+)\s*$/.exec(text)
    if (g) {
      const done = this.flush()
      this.gpu = Number(g[1])
      return done
    }
    const p = /^\s*(?:CURRENT_|AVERAGE_)?SOCKET_POWER:\s*(.+)$/i.exec(text)
    if (p) this.power ??= quantity((p[1] as string).trim(), POWER_SCALE, 'w')
    const e = /^\s*TOTAL_ENERGY_CONSUMPTION:\s*(.+)$/i.exec(text)
    if (e) this.energy = quantity((e[1] as string).trim(), ENERGY_SCALE, 'j')
    // both seen: the block's reading is complete now (do not wait for the next tick's `GPU:` line)
    if (this.gpu !== null && this.power !== null && this.energy !== null) return this.flush()
    return null
  }

  flush(): AmdGpuReading | null {
    const r = this.gpu === null ? null : { gpu: this.gpu, powerW: this.power, energyJ: this.energy }
    this.gpu = null
    this.power = null
    this.energy = null
    return r
  }
}
