/** `auto` adds a thread when the busiest one's event loop was busy this share of the last check. */
export const AUTO_BUSY_SHARE = 0.85
/** After adding a thread, how long `auto` waits before it judges again (the new thread takes its share first). */
export const AUTO_SETTLE_MS = 1_500

/** What `--workers auto` looks at on each check. */
export interface AutoCheck {
  /** Busy share (0..1) of each routable thread's event loop since the last check, by thread number. */
  readonly busy: readonly { readonly thread: number; readonly share: number }[]
  /** Threads running, including one still warming its connections. */
  readonly threads: number
  readonly maxThreads: number
  /** A thread added earlier is still warming its connections. */
  readonly warming: boolean
  readonly inflight: number
  readonly sinceLastAddMs: number
}

/**
 * Whether `auto` should add a load thread now, and why in words: only when the busiest thread is the
 * limit (its event loop busy ≥ 85 % of the time, so chunks wait for it), there is load to share, a CPU
 * is left, and the last thread added has had time to take its share.
 *
 * @example
 * shouldAddThread({ busy: [{ thread: 0, share: 0.93 }], threads: 1, maxThreads: 4, warming: false, inflight: 512, sinceLastAddMs: Infinity })
 * // { add: true, reason: "load thread 0's event loop was 93 % busy with 512 requests in flight" }
 */
export function shouldAddThread(c: AutoCheck): { readonly add: false } | { readonly add: true; readonly reason: string } {
  if (c.busy.length === 0 || c.threads >= c.maxThreads || c.warming || c.inflight < 2 || c.sinceLastAddMs < AUTO_SETTLE_MS) return { add: false }
  const busiest = c.busy.reduce((a, b) => (b.share > a.share ? b : a))
  if (busiest.share < AUTO_BUSY_SHARE) return { add: false }
  return { add: true, reason: `load thread ${busiest.thread}'s event loop was ${(busiest.share * 100).toFixed(0)} % busy with ${c.inflight} requests in flight` }
}
