import type { MeterSpecOf } from '../../../core/config/meters-schema.js'
import { MeterUnavailableError } from '../../../core/errors.js'
import type { MeterInfo, MeterPreflight, PowerMeter } from '../../../core/ports.js'
import type { PowerSample } from '../../../core/records.js'
import type { MeterContext } from '../meter-context.js'
import { describeToolFailure, firstLine, LineChild, runTool } from '../local/run-tool.js'

/** Columns asked for, in order: the power column is the configured field. */
const BASE_FIELDS = ['timestamp', 'uuid', 'name'] as const
const LIMIT_FIELD = 'enforced.power.limit'

/** Architectures whose `power.draw` is an instant reading, not a 1-s average (help text, driver 535). */
const INSTANT_POWER_DRAW = /\b(V100|T4|P100|P40|P4|K80|K40|TITAN V|A100|GA100|Quadro|Tesla)\b/i

export interface SmiRow {
  readonly uuid: string
  readonly name: string
  readonly powerW: number | null
  readonly limitW: number | null
  /** The line's own timestamp as Unix ms (nvidia-smi prints local time without a zone). */
  readonly timeMs: number | null
}

/** `[N/A]`, `[Not Supported]`, `N/A`, `[Unknown Error]`: not a reading. */
export function smiNumber(cell: string | undefined): number | null {
  if (cell === undefined) return null
  const t = cell.trim().replace(/\s*W$/, '')
  if (t === '' || t.startsWith('[') || /^n\/a$/i.test(t)) return null
  const v = Number(t)
  return Number.isFinite(v) ? v : null
}

/** `2025/06/12 14:03:07.412` (local time) → Unix ms. */
export function smiTimestamp(cell: string | undefined): number | null {
  const m = /^(\d{4})\/(\d\d)\/(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,3}))?$/.exec(cell?.trim() ?? '')
  if (!m) return null
  const [, y, mo, d, h, mi, s, ms] = m
  return new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number((ms ?? '0').padEnd(3, '0'))).getTime()
}

/** One `--format=csv,noheader,nounits` line of our query; null for anything else (headers, warnings). */
export function parseSmiLine(line: string): SmiRow | null {
  const cells = line.split(',').map((c) => c.trim())
  if (cells.length < 5) return null
  const [ts, uuid, name, power, limit] = cells
  if (uuid === undefined || !/^GPU-|^MIG-/.test(uuid)) return null
  return { uuid, name: name ?? '', powerW: smiNumber(power), limitW: smiNumber(limit), timeMs: smiTimestamp(ts) }
}

/**
 * GPU board power from a long-lived `nvidia-smi --query-gpu=… -lms N` loop: one child process for
 * the whole run, one CSV line per GPU per tick, so sampling costs this process only the parsing.
 * A power gauge (no energy field exists in --query-gpu): the core integrates it. `power.draw` is a
 * 1-s average on Ampere and newer (shifted by half a second in the analysis), `power.draw.instant`
 * an instant reading (driver 530+; preferred, with a fallback when the driver lacks it).
 */
export class NvidiaSmiPowerMeter implements PowerMeter {
  private field: string
  private child: LineChild | null = null
  private names = new Map<string, string>()
  private limits: Record<string, number> = {}
  private selected: string[] = []

  constructor(
    private readonly spec: MeterSpecOf<'nvidia-smi'>,
    private readonly ctx: MeterContext,
  ) {
    this.field = spec.field
  }

  get info(): MeterInfo {
    const names = [...this.names.values()]
    const averaged = this.field === 'power.draw.average' || (this.field === 'power.draw' && !(names.length > 0 && names.every((n) => INSTANT_POWER_DRAW.test(n))))
    return {
      id: this.ctx.id,
      kind: 'nvidia-smi',
      boundary: this.spec.boundary,
      hasCounter: false,
      periodMs: this.spec.periodMs ?? 100,
      averagingWindowMs: averaged ? 1000 : 0,
      accuracyRel: this.spec.accuracyRel ?? 0,
      // "This reading is accurate to within +/- 5 watts." (nvidia-smi --help-query-gpu)
      accuracyW: this.spec.accuracyW ?? 5,
      resolutionW: 0.01,
      estimated: false,
      description: `nvidia-smi ${this.field} of ${this.names.size || '?'} GPU${this.names.size === 1 ? '' : 's'}${names[0] ? ` (${names[0]})` : ''}`,
      powerLimitW: { ...this.limits },
      ...(this.spec.component !== undefined ? { component: this.spec.component } : {}),
      ...(this.spec.group !== undefined ? { group: this.spec.group } : {}),
    }
  }

  private query(field: string): string[] {
    const args = [`--query-gpu=${[...BASE_FIELDS, field, LIMIT_FIELD].join(',')}`, '--format=csv,noheader,nounits']
    if (this.spec.devices && this.spec.devices.length > 0) args.push(`--id=${this.spec.devices.join(',')}`)
    return args
  }

  async preflight(): Promise<MeterPreflight> {
    const bin = this.spec.binary
    let r = await runTool(bin, this.query(this.field), { env: this.ctx.env, timeoutMs: 15_000 })
    let rows = r.stdout.split('\n').map(parseSmiLine).filter((x): x is SmiRow => x !== null)
    const invalidField = /not a valid field/i.test(r.stdout + r.stderr)
    if ((invalidField || (rows.length > 0 && rows.every((x) => x.powerW === null))) && this.field === 'power.draw.instant' && this.spec.field === 'power.draw.instant') {
      // older drivers: no instant field (or [N/A]); fall back to the 1-s average
      this.field = 'power.draw'
      r = await runTool(bin, this.query(this.field), { env: this.ctx.env, timeoutMs: 15_000 })
      rows = r.stdout.split('\n').map(parseSmiLine).filter((x): x is SmiRow => x !== null)
    }
    if (r.code !== 0 || r.errorCode !== null) {
      const text = `${r.stdout}\n${r.stderr}`
      throw new MeterUnavailableError(describeToolFailure(bin, r), {
        hint: r.errorCode === 'ENOENT'
          ? 'install the NVIDIA driver utilities, or name the binary with meters[].binary'
          : /couldn't communicate with the NVIDIA driver|driver/i.test(text)
            ? 'the NVIDIA driver is not loaded or does not match the library (reboot after a driver update?)'
            : /No devices were found|not found|Invalid/i.test(text)
              ? 'check the GPU ids given (indices, UUIDs or PCI bus ids): nvidia-smi -L lists them'
              : 'run nvidia-smi by hand to see what it says',
      })
    }
    if (rows.length === 0) throw new MeterUnavailableError(`nvidia-smi: no GPU lines in its output (${firstLine(r.stdout) || 'empty'})`, { hint: 'nvidia-smi -L lists the GPUs this user can see' })
    if (rows.every((x) => x.powerW === null)) throw new MeterUnavailableError(`nvidia-smi: ${this.field} is [N/A] on every GPU (power management not supported here)`, { hint: 'GPUs without power management (some consumer and virtual GPUs) cannot be metered this way' })
    this.names = new Map(rows.map((x) => [x.uuid, x.name]))
    this.limits = Object.fromEntries(rows.filter((x) => x.limitW !== null).map((x) => [x.uuid, x.limitW as number]))
    this.selected = rows.map((x) => x.uuid)
    const na = rows.filter((x) => x.powerW === null).map((x) => x.uuid)
    return {
      ok: true,
      channels: this.selected,
      message: `${rows.length} GPU${rows.length === 1 ? '' : 's'} (${rows[0]?.name ?? ''}), ${this.field}${this.field !== this.spec.field ? ` (fallback: ${this.spec.field} unsupported)` : ''}${na.length > 0 ? `; [N/A] on ${na.join(', ')}` : ''}`,
    }
  }

  async start(onSample: (sample: PowerSample) => void): Promise<void> {
    if (this.selected.length === 0) await this.preflight()
    const clock = this.ctx.clock
    const periodMs = Math.max(1, Math.round(this.info.periodMs))
    // Lines can arrive in bursts when the driver buffers the pipe: place each reading by its own
    // timestamp (this machine's wall clock, ms) through the run clock's wall anchor, not by arrival.
    // nvidia-smi stamps lines with the system clock (Date.now's), which can sit milliseconds away from
    // the run clock's own wall anchor: anchor on the system clock itself.
    const anchor = { atNs: clock.nowNs(), wallMs: Date.now() }
    this.child = new LineChild(this.spec.binary, [...this.query(this.field), `-lms`, String(periodMs)], this.ctx.env, (line) => {
      const row = parseSmiLine(line)
      if (!row || row.powerW === null) return // headers, warnings and [N/A] are not readings
      const arrivedNs = clock.nowNs()
      const stampedNs = row.timeMs === null ? null : anchor.atNs + (row.timeMs - anchor.wallMs) * 1e6
      const atNs = stampedNs !== null && Math.abs(stampedNs - arrivedNs) < 5e9 && stampedNs <= arrivedNs + 5e6 ? stampedNs : arrivedNs
      onSample({ meterId: this.ctx.id, channel: row.uuid, atNs, sourceTimeMs: row.timeMs, powerW: row.powerW, energyJ: null })
    })
    this.child.start()
  }

  async stop(): Promise<void> {
    await this.child?.stop()
    this.child = null
  }
}
