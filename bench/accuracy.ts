/**
 * Compares what the client recorded with what the server wrote, request by request and chunk by chunk,
 * for `npm run bench:client`. Both sides read CLOCK_MONOTONIC (Node's hrtime is uv_hrtime =
 * clock_gettime(CLOCK_MONOTONIC)), so the server's times map onto the client's timeline by subtracting
 * the client clock's epoch; the worker checks that claim with /__clock before every run.
 */
import type { GroundTruth } from './sse-server-process.js'
import type { RecordsFile } from './client-worker.js'

export interface Distribution {
  readonly n: number
  readonly mean: number
  readonly p50: number
  readonly p99: number
  readonly min: number
  readonly max: number
}

export interface AccuracyReport {
  /** Measured requests matched with a server request by their `tw-seq` marker. */
  readonly matched: number
  readonly unmatched: number
  /** Matched requests whose content-chunk count differs from the server's token-chunk count. */
  readonly chunkCountMismatch: number
  /** Per gap: client ITL − server ITL (ms), signed, and its absolute value. */
  readonly itlErrorMs: Distribution
  readonly itlAbsErrorMs: Distribution
  /** The distributions' own figures: client's p50/p99 ITL minus the server's (ms). */
  readonly itlP50ShiftMs: number
  readonly itlP99ShiftMs: number
  /** Per request: client TTFT − server TTFT (ms). */
  readonly ttftErrorMs: Distribution
  /** Per chunk: client arrival − server write (ms); negative would mean the clocks are not one clock. */
  readonly deliveryLagMs: Distribution
  /** Per request: arrival at the server's socket − client sent (ms), the client's send path. */
  readonly sendLagMs: Distribution
  /** Per request: server read − arrival (ms), queued inside the server; not counted against the client. */
  readonly serverQueueMs: Distribution
  /** Measured requests whose connection the server accepted after the client sent them. */
  readonly connectInsideTtft: number
}

/** mean/p50/p99/max of a sample (sorted in place). */
export function distribution(values: Float64Array): Distribution {
  const n = values.length
  if (n === 0) return { n, mean: Number.NaN, p50: Number.NaN, p99: Number.NaN, min: Number.NaN, max: Number.NaN }
  values.sort()
  let sum = 0
  for (let i = 0; i < n; i++) sum += values[i]!
  return { n, mean: sum / n, p50: quantile(values, 0.5), p99: quantile(values, 0.99), min: values[0]!, max: values[n - 1]! }
}

/** Linear-interpolated quantile of sorted values. */
function quantile(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.min(sorted.length - 1, lo + 1)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo)
}

export function compareWithGroundTruth(client: RecordsFile, truth: GroundTruth): AccuracyReport {
  const epoch = BigInt(client.epochHr)
  const bySeq = new Map(truth.requests.map((r) => [r.seq, r]))
  const itlErr: number[] = []
  const clientItl: number[] = []
  const serverItl: number[] = []
  const ttftErr: number[] = []
  const lag: number[] = []
  const sendLag: number[] = []
  const serverQueue: number[] = []
  let matched = 0
  let unmatched = 0
  let mismatch = 0
  let connectInside = 0
  for (const rec of client.records) {
    const srv = bySeq.get(rec.seq)
    if (srv === undefined || rec.error !== null) {
      unmatched++
      continue
    }
    matched++
    const s = Array.from(srv.chunkNs, (t) => Number(t - epoch))
    const c = rec.chunkAtNs
    if (s.length !== c.length) mismatch++
    const n = Math.min(s.length, c.length)
    const recvNs = Number(srv.recvNs - epoch)
    sendLag.push((recvNs - rec.sentAtNs) / 1e6)
    serverQueue.push(Number(srv.readNs - srv.recvNs) / 1e6)
    const accept = truth.acceptNs.get(srv.connId)
    if (accept !== undefined && Number(accept - epoch) >= rec.sentAtNs) connectInside++
    if (n === 0) continue
    ttftErr.push((c[0]! - rec.sentAtNs - (s[0]! - recvNs)) / 1e6)
    for (let k = 0; k < n; k++) {
      lag.push((c[k]! - s[k]!) / 1e6)
      if (k === 0) continue
      const ci = c[k]! - c[k - 1]!
      const si = s[k]! - s[k - 1]!
      clientItl.push(ci / 1e6)
      serverItl.push(si / 1e6)
      itlErr.push((ci - si) / 1e6)
    }
  }
  const itlErrorMs = distribution(Float64Array.from(itlErr))
  const itlAbsErrorMs = distribution(Float64Array.from(itlErr, Math.abs))
  const cItl = distribution(Float64Array.from(clientItl))
  const sItl = distribution(Float64Array.from(serverItl))
  return {
    matched,
    unmatched,
    chunkCountMismatch: mismatch,
    itlErrorMs,
    itlAbsErrorMs,
    itlP50ShiftMs: cItl.p50 - sItl.p50,
    itlP99ShiftMs: cItl.p99 - sItl.p99,
    ttftErrorMs: distribution(Float64Array.from(ttftErr)),
    deliveryLagMs: distribution(Float64Array.from(lag)),
    sendLagMs: distribution(Float64Array.from(sendLag)),
    serverQueueMs: distribution(Float64Array.from(serverQueue)),
    connectInsideTtft: connectInside,
  }
}
