/**
 * Parsing of power logs written by any meter (a wall power analyser, a PDU logger, a script):
 * CSV with a header row, or JSON Lines. One time column (epoch s/ms/µs/ns or ISO 8601), and a power
 * column in watts and/or a cumulative energy column (J, Wh or kWh), found by name unless named in the
 * config; optionally a channel column. Bad lines are counted, never fatal.
 */

export interface PowerLogColumns {
  readonly time: string
  readonly power: string | null
  /** Multiplier from the power column's unit to W. */
  readonly powerScale: number
  readonly energy: string | null
  /** Multiplier from the energy column's unit to J. */
  readonly energyScale: number
  readonly channel: string | null
}

export interface PowerLogOptions {
  readonly timeColumn?: string | undefined
  readonly powerColumn?: string | undefined
  readonly energyColumn?: string | undefined
  readonly channelColumn?: string | undefined
  readonly timeUnit: 'auto' | 'iso' | 's' | 'ms' | 'us' | 'ns'
  readonly energyUnit?: 'J' | 'Wh' | 'kWh' | undefined
}

export interface PowerLogRow {
  /** Unix ms. */
  readonly timeMs: number
  readonly channel: string | null
  readonly powerW: number | null
  readonly energyJ: number | null
}

const norm = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '')

const TIME_NAMES = ['timestamp', 'time', 'ts', 'datetime', 'date', 'epoch', 'unixtime', 'times', 'timems', 'timeunix', 't']
const POWER_NAMES: readonly [string, number][] = [
  ['powerw', 1], ['watts', 1], ['power', 1], ['w', 1], ['pw', 1], ['activepowerw', 1], ['activepower', 1], ['powerwatts', 1], ['watt', 1], ['p', 1],
  ['powerkw', 1000], ['kw', 1000], ['powermw', 1e-3], ['mw', 1e-3],
]
const ENERGY_NAMES: readonly [string, number][] = [
  ['energyj', 1], ['joules', 1], ['energyjoules', 1], ['j', 1], ['energy', 1],
  ['energywh', 3600], ['wh', 3600], ['watthours', 3600], ['energykwh', 3.6e6], ['kwh', 3.6e6], ['energykj', 1000], ['kj', 1000],
]
const CHANNEL_NAMES = ['channel', 'outlet', 'gpu', 'device', 'meter', 'sensor', 'uuid']

/** Finds the columns by name (or the configured names). Throws a readable Error when one is missing. */
export function detectColumns(header: readonly string[], opts: PowerLogOptions): PowerLogColumns {
  const byNorm = new Map(header.map((h) => [norm(h), h] as const))
  const find = (given: string | undefined, what: string): string | null => {
    if (given === undefined) return null
    if (header.includes(given)) return given
    const n = byNorm.get(norm(given))
    if (n !== undefined) return n
    throw new Error(`no ${what} column named "${given}" (columns: ${header.join(', ')})`)
  }
  const time = find(opts.timeColumn, 'time') ?? TIME_NAMES.map((n) => byNorm.get(n)).find((x) => x !== undefined) ?? header.find((h) => /time|date/i.test(h)) ?? null
  if (time === null) throw new Error(`no time column (looked for ${TIME_NAMES.join('/')}; columns: ${header.join(', ')}); name it with timeColumn`)

  let power = find(opts.powerColumn, 'power')
  let powerScale = 1
  if (power !== null) powerScale = POWER_NAMES.find(([n]) => n === norm(power as string))?.[1] ?? 1
  let energy = find(opts.energyColumn, 'energy')
  let energyScale = 1
  if (energy !== null) energyScale = ENERGY_NAMES.find(([n]) => n === norm(energy as string))?.[1] ?? 1
  if (power === null && energy === null) {
    for (const [n, s] of POWER_NAMES) {
      const h = byNorm.get(n)
      if (h !== undefined && h !== time) {
        power = h
        powerScale = s
        break
      }
    }
    for (const [n, s] of ENERGY_NAMES) {
      const h = byNorm.get(n)
      if (h !== undefined && h !== time) {
        energy = h
        energyScale = s
        break
      }
    }
  }
  if (power === null && energy === null)
    throw new Error(`no power or energy column (looked for power_w/watts/power, energy_j/joules/wh/kwh; columns: ${header.join(', ')}); name it with powerColumn or energyColumn`)
  if (energy !== null && opts.energyUnit !== undefined) energyScale = { J: 1, Wh: 3600, kWh: 3.6e6 }[opts.energyUnit]
  const channel = find(opts.channelColumn, 'channel') ?? (opts.channelColumn === undefined ? (CHANNEL_NAMES.map((n) => byNorm.get(n)).find((x) => x !== undefined) ?? null) : null)
  return { time, power, powerScale, energy, energyScale, channel }
}

/** Epoch times before 2001 are taken as relative, which cannot be placed on the run's timeline. */
const MIN_EPOCH_S = 978_307_200

/** A time cell as Unix ms, or null. Numbers are epoch s/ms/µs/ns (by `unit`, or by magnitude). */
export function parseTimeMs(cell: unknown, unit: PowerLogOptions['timeUnit']): number | null {
  if (typeof cell === 'string') {
    const t = cell.trim()
    if (t === '') return null
    if (unit === 'iso' || !/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t)) {
      const ms = Date.parse(t.replace(/^(\d{4}-\d\d-\d\d) /, '$1T'))
      return Number.isFinite(ms) ? ms : null
    }
    return parseTimeMs(Number(t), unit)
  }
  if (typeof cell !== 'number' || !Number.isFinite(cell)) return null
  switch (unit) {
    case 's':
      return cell * 1e3
    case 'ms':
      return cell
    case 'us':
      return cell / 1e3
    case 'ns':
      return cell / 1e6
    default: {
      const a = Math.abs(cell)
      if (a < MIN_EPOCH_S) return null
      if (a < 1e11) return cell * 1e3
      if (a < 1e14) return cell
      if (a < 1e17) return cell / 1e3
      return cell / 1e6
    }
  }
}

function num(cell: unknown): number | null {
  if (typeof cell === 'number') return Number.isFinite(cell) ? cell : null
  if (typeof cell !== 'string') return null
  const t = cell.trim().replace(/\s*(k?wh|kw|mw|w|j|kj)$/i, '')
  if (t === '' || /^(n\/?a|nan|null|-|\[n\/a\])$/i.test(t)) return null
  const v = Number(t)
  return Number.isFinite(v) ? v : null
}

/** Splits one CSV line (RFC 4180 quotes, the given delimiter). */
export function splitCsv(line: string, delim: string): string[] {
  const out: string[] = []
  let cur = ''
  let q = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string
    if (q) {
      if (c === '"') {
        if (line[i + 1] === '"') {
          cur += '"'
          i++
        } else q = false
      } else cur += c
    } else if (c === '"') q = true
    else if (c === delim) {
      out.push(cur)
      cur = ''
    } else cur += c
  }
  out.push(cur)
  return out.map((s) => s.trim())
}

export function detectDelimiter(header: string): string {
  const counts = [',', ';', '\t'].map((d) => [d, header.split(d).length] as const)
  return counts.sort((a, b) => b[1] - a[1])[0]?.[0] ?? ','
}

/**
 * An incremental parser: feed it text as the file grows; it returns complete rows and counts bad
 * lines. The first non-empty line decides the format (`{` → JSONL, else a CSV header).
 */
export class PowerLogParser {
  private format: 'csv' | 'jsonl' | null
  private header: string[] | null = null
  private delim = ','
  private cols: PowerLogColumns | null = null
  private rest = ''
  badLines = 0
  /** First problem met, for the preflight message. */
  firstProblem: string | null = null

  constructor(
    format: 'auto' | 'csv' | 'jsonl',
    private readonly opts: PowerLogOptions,
  ) {
    this.format = format === 'auto' ? null : format
  }

  get columns(): PowerLogColumns | null {
    return this.cols
  }

  /** Parses the complete lines in `text` (plus what was left over); keeps a trailing partial line unless `final`. */
  push(text: string, final = false): PowerLogRow[] {
    const all = this.rest + text
    const lines = all.split('\n')
    this.rest = final ? '' : (lines.pop() ?? '')
    const rows: PowerLogRow[] = []
    for (const raw of lines) {
      const line = raw.replace(/\r$/, '').replace(/^\uFEFF/, '')
      if (line.trim() === '' || line.startsWith('#')) continue
      if (this.format === null) this.format = line.trimStart().startsWith('{') ? 'jsonl' : 'csv'
      const row = this.format === 'jsonl' ? this.jsonRow(line) : this.csvRow(line)
      if (row) rows.push(row)
    }
    return rows
  }

  private bad(why: string): null {
    this.badLines++
    this.firstProblem ??= why
    return null
  }

  private csvRow(line: string): PowerLogRow | null {
    if (this.header === null) {
      this.delim = detectDelimiter(line)
      this.header = splitCsv(line, this.delim)
      this.cols = detectColumns(this.header, this.opts)
      return null
    }
    const cells = splitCsv(line, this.delim)
    const get = (name: string | null): string | undefined => (name === null ? undefined : cells[(this.header as string[]).indexOf(name)])
    return this.row(get(this.cols?.time ?? null), get(this.cols?.power ?? null), get(this.cols?.energy ?? null), get(this.cols?.channel ?? null), line)
  }

  private jsonRow(line: string): PowerLogRow | null {
    let obj: unknown
    try {
      obj = JSON.parse(line)
    } catch {
      return this.bad(`not JSON: ${line.slice(0, 60)}`)
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return this.bad(`not a JSON object: ${line.slice(0, 60)}`)
    const rec = obj as Record<string, unknown>
    this.cols ??= detectColumns(Object.keys(rec), this.opts)
    const c = this.cols
    return this.row(rec[c.time], c.power === null ? undefined : rec[c.power], c.energy === null ? undefined : rec[c.energy], c.channel === null ? undefined : rec[c.channel], line)
  }

  private row(time: unknown, power: unknown, energy: unknown, channel: unknown, line: string): PowerLogRow | null {
    const c = this.cols
    if (!c) return null
    const timeMs = parseTimeMs(time, this.opts.timeUnit)
    if (timeMs === null)
      return this.bad(
        typeof time === 'number' || (typeof time === 'string' && /^\d+(\.\d+)?$/.test(time.trim()))
          ? `time ${String(time)} is not an epoch time (relative seconds cannot be placed on the run's timeline): ${line.slice(0, 60)}`
          : `unreadable time: ${line.slice(0, 60)}`,
      )
    const p = num(power)
    const e = num(energy)
    if (p === null && e === null) return this.bad(`no power or energy value: ${line.slice(0, 60)}`)
    return {
      timeMs,
      channel: typeof channel === 'string' && channel !== '' ? channel : typeof channel === 'number' ? String(channel) : null,
      powerW: p === null ? null : p * c.powerScale,
      energyJ: e === null ? null : e * c.energyScale,
    }
  }
}
