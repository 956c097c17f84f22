import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { resolve } from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import type { MeterSpecOf } from '../../../core/config/meters-schema.js'
import { MeterUnavailableError } from '../../../core/errors.js'
import type { MeterInfo, MeterPreflight, PowerMeter } from '../../../core/ports.js'
import type { PowerSample } from '../../../core/records.js'
import type { MeterContext } from '../meter-context.js'
import { PollLoop } from '../remote/poll-loop.js'
import { PowerLogParser, type PowerLogRow } from './power-log.js'

/** Bytes read per poll at most, so a huge log never blocks the event loop for long. */
const CHUNK_BYTES = 1 << 20

/**
 * A power log file written by any meter — a wall power analyser, a PDU logger, a script around a
 * tool we do not speak — read as it grows (or whole, when it was recorded before). Rows carry the
 * logger's own clock (Unix time); they are placed on the run's timeline through the run clock's wall
 * anchor, shifted by `clockOffsetMs` when the logger's clock is known to be off.
 */
export class FilePowerMeter implements PowerMeter {
  private readonly path: string
  private fd: number | null = null
  private offset = 0
  private decoder = new StringDecoder('utf8')
  private parser: PowerLogParser
  private loop: PollLoop | null = null
  private onSample: ((s: PowerSample) => void) | null = null
  private anchor: { atNs: number; wallMs: number } | null = null
  private readonly deltasMs: number[] = []
  private lastTimeByChannel = new Map<string, number>()
  private hasEnergy = false
  private buf: Buffer | null = null

  constructor(
    private readonly spec: MeterSpecOf<'file'>,
    private readonly ctx: MeterContext,
  ) {
    this.path = resolve(spec.path)
    this.parser = this.newParser()
  }

  private newParser(): PowerLogParser {
    const s = this.spec
    return new PowerLogParser(s.format, {
      timeColumn: s.timeColumn,
      powerColumn: s.powerColumn,
      energyColumn: s.energyColumn,
      channelColumn: s.channelColumn,
      timeUnit: s.timeUnit,
      energyUnit: s.energyUnit,
    })
  }

  get info(): MeterInfo {
    const d = [...this.deltasMs].sort((a, b) => a - b)
    const detected = d.length > 0 ? (d[d.length >> 1] as number) : null
    return {
      id: this.ctx.id,
      kind: 'file',
      boundary: this.spec.boundary,
      hasCounter: this.hasEnergy,
      // the data's own sampling period (gaps are judged against it), not how often the file is polled
      periodMs: detected ?? 1000,
      averagingWindowMs: this.spec.averagingWindowMs,
      // A bench power analyser is good to ~0.1–0.5 %; unknown loggers get ±2 % unless told.
      accuracyRel: this.spec.accuracyRel ?? 0.02,
      accuracyW: this.spec.accuracyW ?? 0,
      estimated: false,
      description: `power log ${this.spec.path}`,
      ...(this.spec.component !== undefined ? { component: this.spec.component } : {}),
      ...(this.spec.group !== undefined ? { group: this.spec.group } : {}),
    }
  }

  async preflight(): Promise<MeterPreflight> {
    let fd: number
    try {
      fd = openSync(this.path, 'r')
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      throw new MeterUnavailableError(`power log ${this.spec.path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`, {
        hint: code === 'ENOENT' ? 'start the logger before the run, or give the path of a recorded log' : 'check the file permissions',
        cause: e,
      })
    }
    const parser = this.newParser()
    const rows: PowerLogRow[] = []
    try {
      const buf = Buffer.alloc(64 * 1024)
      const n = readSync(fd, buf, 0, buf.length, 0)
      const text = buf.subarray(0, n).toString('utf8')
      const complete = n < buf.length
      rows.push(...parser.push(complete ? text : text.slice(0, text.lastIndexOf('\n') + 1), complete))
    } catch (e) {
      throw new MeterUnavailableError(`power log ${this.spec.path}: ${(e as Error).message}`, {
        hint: 'the file needs a header row with a time column and a watts or cumulative energy column (or JSON Lines with those keys); name them with timeColumn/powerColumn/energyColumn',
        cause: e,
      })
    } finally {
      closeSync(fd)
    }
    const cols = parser.columns
    if (rows.length === 0 && parser.badLines > 0)
      throw new MeterUnavailableError(`power log ${this.spec.path}: no readable row (${parser.firstProblem ?? 'unknown format'})`, {
        hint: 'times must be epoch seconds/ms or ISO 8601; values plain numbers',
      })
    const what = cols ? `time=${cols.time}${cols.power ? `, power=${cols.power}` : ''}${cols.energy ? `, energy=${cols.energy}` : ''}${cols.channel ? `, channel=${cols.channel}` : ''}` : 'no rows yet'
    const last = rows[rows.length - 1]
    const ageS = last ? (this.ctx.clock.wallMs() - last.timeMs) / 1000 : null
    const stale = ageS !== null && ageS > 3600 ? ` (newest row is ${(ageS / 3600).toFixed(1)} h old: only rows inside the run's window count)` : ''
    const channels = [...new Set(rows.map((r) => r.channel ?? this.spec.boundary))]
    return { ok: true, channels, message: `${what}${stale}` }
  }

  async start(onSample: (sample: PowerSample) => void): Promise<void> {
    this.onSample = onSample
    // loggers on this machine stamp rows with the system clock (Date.now's): anchor on it
    this.anchor = { atNs: this.ctx.clock.nowNs(), wallMs: Date.now() }
    try {
      this.fd = openSync(this.path, 'r')
    } catch (e) {
      throw new MeterUnavailableError(`power log ${this.spec.path}: ${(e as Error).message}`, { cause: e })
    }
    this.offset = 0
    this.parser = this.newParser()
    this.decoder = new StringDecoder('utf8')
    this.loop = new PollLoop(this.ctx.clock, this.spec.periodMs ?? 1000, async () => this.readMore(false))
    this.loop.start()
  }

  private readMore(final: boolean): void {
    if (this.fd === null) return
    const buf = (this.buf ??= Buffer.allocUnsafe(CHUNK_BYTES))
    for (;;) {
      let size: number
      try {
        size = fstatSync(this.fd).size
      } catch {
        return
      }
      if (size < this.offset) {
        // truncated or rotated in place: start over
        this.offset = 0
        this.parser = this.newParser()
      }
      if (size === this.offset) break
      const n = readSync(this.fd, buf, 0, Math.min(buf.length, size - this.offset), this.offset)
      if (n <= 0) break
      this.offset += n
      this.emit(this.parser.push(this.decoder.write(buf.subarray(0, n))))
      if (!final) break
    }
    if (final) this.emit(this.parser.push(this.decoder.end(), true))
  }

  private emit(rows: readonly PowerLogRow[]): void {
    const a = this.anchor
    const out = this.onSample
    if (!a || !out) return
    for (const r of rows) {
      const channel = r.channel ?? this.spec.boundary
      if (r.energyJ !== null) this.hasEnergy = true
      const prev = this.lastTimeByChannel.get(channel)
      if (prev !== undefined && r.timeMs > prev && this.deltasMs.length < 10_000) this.deltasMs.push(r.timeMs - prev)
      this.lastTimeByChannel.set(channel, r.timeMs)
      const localWallMs = r.timeMs - this.spec.clockOffsetMs
      out({ meterId: this.ctx.id, channel, atNs: a.atNs + (localWallMs - a.wallMs) * 1e6, sourceTimeMs: r.timeMs, powerW: r.powerW, energyJ: r.energyJ })
    }
  }

  async stop(): Promise<void> {
    await this.loop?.stop()
    this.loop = null
    this.readMore(true)
    if (this.fd !== null) closeSync(this.fd)
    this.fd = null
  }
}
