import { ClockOffsetEstimator, type ClockOffset } from '../meters/remote/clock-offset.js'

/**
 * Estimates how far the server under test's clock is from this host's, from the HTTP `Date` header
 * (RFC 9110 §6.6.1: whole seconds) of plain GETs to the endpoint's root. Every shard of a run asks the
 * same server, so the server's clock is the common reference their records are placed on when
 * `tokenwatt merge` joins them.
 *
 * A 1 s header narrows to about the round trip by timing each probe so that, if the current midpoint
 * estimate were right, the server would stamp its reply just at a second boundary: the reply's second
 * then says on which side of the midpoint the true offset lies, halving the interval (the bisection
 * the estimator's intersection makes possible). Servers cache the header: Node's http refreshes it at
 * each second boundary, uvicorn (vLLM, SGLang) on its 0.1 s tick, so `dateStalenessMs` widens every
 * observation by that much and the estimate never claims more than the header can tell.
 *
 * No credentials are sent: any status (200, 401, 404) carries a `Date` header.
 */
export interface ServerClockProbeOptions {
  readonly url: string
  /** Our wall clock (Unix ms, sub-millisecond): the run clock's `wallMs()`. */
  readonly wallMs: () => number
  /** How stale a cached `Date` header may be (ms); 100 covers uvicorn's tick. */
  readonly dateStalenessMs?: number
  /** Stop once the interval is this narrow (half-width, ms). */
  readonly targetUncertaintyMs?: number
  readonly maxProbes?: number
  readonly timeoutMs?: number
}

export class ServerClockProbe {
  private readonly estimator = new ClockOffsetEstimator('http-date')
  private readonly stalenessMs: number
  private rttMs = 0

  constructor(private readonly options: ServerClockProbeOptions) {
    this.stalenessMs = options.dateStalenessMs ?? 100
  }

  /** One probe now. A failed probe (unreachable, no header) is ignored: the estimate stays as it was. */
  async probeOnce(): Promise<void> {
    const sendWallMs = this.options.wallMs()
    let date: string | null
    try {
      const res = await fetch(this.options.url, { method: 'GET', signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000) })
      date = res.headers.get('date')
      await res.body?.cancel()
    } catch {
      return
    }
    const recvWallMs = this.options.wallMs()
    this.rttMs = recvWallMs - sendWallMs
    const remoteMs = date === null ? Number.NaN : Date.parse(date)
    if (Number.isNaN(remoteMs)) return
    this.estimator.observe(remoteMs, remoteMs + 999.999 + this.stalenessMs, sendWallMs, recvWallMs)
  }

  /**
   * Probes until `signal` aborts, the interval is narrow enough or `maxProbes` were sent; each probe
   * after the first waits for the instant that splits the current interval (at most about a second).
   */
  async run(signal: AbortSignal): Promise<ClockOffset | null> {
    const maxProbes = this.options.maxProbes ?? 24
    const target = this.options.targetUncertaintyMs ?? 1
    for (let i = 0; i < maxProbes && !signal.aborted; i++) {
      const now = this.options.wallMs()
      const waitMs = i === 0 ? 0 : this.splittingSendAt(now) - now
      if (waitMs > 0 && !(await sleep(waitMs, signal))) break
      await this.probeOnce()
      const cur = this.estimator.current()
      if (cur !== null && cur.uncertaintyMs <= Math.max(target, this.rttMs / 2 + this.stalenessMs / 2)) break
    }
    return this.estimator.current()
  }

  current(): ClockOffset | null {
    return this.estimator.current()
  }

  /** Our wall time to send at so that the server stamps its reply at a second boundary under the midpoint offset. */
  private splittingSendAt(nowMs: number): number {
    const b = this.estimator.bounds()
    const mid = b === null ? 0 : (b.lowMs + b.highMs) / 2
    const half = this.rttMs / 2
    // server time at the stamp = send + half + mid; pick the next boundary at least 20 ms away
    const boundary = Math.ceil((nowMs + 20 + half + mid) / 1000) * 1000
    return boundary - half - mid
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      resolve(ok)
    }
    const onAbort = (): void => done(false)
    const timer = setTimeout(() => done(true), ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
