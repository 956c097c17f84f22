import type { EventSink, RunEvent } from '../core/ports.js'
import type { OutputStream } from './host.js'

/**
 * The live progress line: done/total, output tok/s, errors and ETA. On a terminal it redraws one line
 * in place (stderr, so stdout stays clean for --json); elsewhere it prints a plain line every 10 s.
 * Fed by run events; it never touches the per-chunk hot path.
 */
export class ProgressLine implements EventSink {
  private done = 0
  private errors = 0
  private outputTokens = 0
  private measureStartNs: number | null = null
  private lastDrawNs = -Infinity
  private lastLen = 0
  private phase = 'preflight'

  constructor(
    private readonly out: OutputStream,
    private readonly nowNs: () => number,
    private readonly totalRequests: number | null,
    private readonly durationS: number | null,
    private readonly enabled: boolean,
  ) {}

  emit(e: RunEvent): void {
    if (e.type === 'phase') {
      this.phase = e.phase
      if (e.phase === 'measure') this.measureStartNs = e.atNs
      if (e.phase === 'done' || e.phase === 'analyze') this.clear()
      else this.draw(true)
      return
    }
    if (e.type === 'warning' || e.type === 'info') {
      this.clear()
      if (this.enabled || e.type === 'warning') this.out.write(`${e.type === 'warning' ? 'warning: ' : ''}${e.message}\n`)
      return
    }
    if (e.record.phase !== 'measure') return
    this.done++
    if (e.record.error) this.errors++
    this.outputTokens += e.record.outputTokens ?? e.record.chunkAtNs.length
    this.draw(false)
  }

  private draw(force: boolean): void {
    if (!this.enabled) return
    const now = this.nowNs()
    const every = this.out.isTTY ? 200e6 : 10e9
    if (!force && now - this.lastDrawNs < every) return
    this.lastDrawNs = now
    const line = this.render(now)
    if (this.out.isTTY) {
      const pad = Math.max(0, this.lastLen - line.length)
      this.out.write(`\r${line}${' '.repeat(pad)}`)
      this.lastLen = line.length
    } else {
      this.out.write(`${line}\n`)
    }
  }

  private clear(): void {
    if (this.enabled && this.out.isTTY && this.lastLen > 0) {
      this.out.write(`\r${' '.repeat(this.lastLen)}\r`)
      this.lastLen = 0
    }
  }

  render(now: number): string {
    if (this.phase !== 'measure' || this.measureStartNs === null) return `[${this.phase}]`
    const elapsedS = (now - this.measureStartNs) / 1e9
    const tokPerS = elapsedS > 0 ? this.outputTokens / elapsedS : 0
    const total = this.totalRequests !== null ? `/${this.totalRequests}` : ''
    let eta = ''
    if (this.totalRequests !== null && this.done > 0) eta = ` eta ${fmtS((elapsedS / this.done) * (this.totalRequests - this.done))}`
    else if (this.durationS !== null) eta = ` eta ${fmtS(Math.max(0, this.durationS - elapsedS))}`
    return `[measure] ${this.done}${total} requests  ${tokPerS.toFixed(0)} tok/s  ${this.errors} errors  ${fmtS(elapsedS)} elapsed${eta}`
  }
}

function fmtS(s: number): string {
  if (!Number.isFinite(s)) return '?'
  if (s < 60) return `${s.toFixed(0)}s`
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`
}
