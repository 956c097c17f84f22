/**
 * Streams text through a set of stop strings: text that might be the start of a stop string is held
 * back until it is known not to be, and output ends right before the first stop string, as OpenAI
 * servers do (the stop string itself is never sent).
 */
export class StopMatcher {
  private held = ''
  private stopped = false

  constructor(private readonly stops: readonly string[]) {}

  get isStopped(): boolean {
    return this.stopped
  }

  /** Adds text; returns what can be sent now. After a stop string matched, returns '' forever. */
  push(text: string): string {
    if (this.stopped) return ''
    if (this.stops.length === 0) return text
    const buf = this.held + text
    let cut = -1
    for (const s of this.stops) {
      const i = buf.indexOf(s)
      if (i >= 0 && (cut < 0 || i < cut)) cut = i
    }
    if (cut >= 0) {
      this.stopped = true
      this.held = ''
      return buf.slice(0, cut)
    }
    let keep = 0
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, buf.length); k > keep; k--) {
        if (buf.endsWith(s.slice(0, k))) {
          keep = k
          break
        }
      }
    }
    this.held = buf.slice(buf.length - keep)
    return buf.slice(0, buf.length - keep)
  }

  /** Releases held text at the end of generation (no stop string matched). */
  flush(): string {
    const out = this.stopped ? '' : this.held
    this.held = ''
    return out
  }
}
