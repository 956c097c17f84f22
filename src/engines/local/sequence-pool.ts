/**
 * A fixed set of slots (context sequences) handed out first come, first served. Requests beyond the
 * pool size wait in a FIFO queue, as llama-server defers tasks when all slots are busy; a waiter
 * whose signal aborts leaves the queue without ever taking a slot.
 */
export class SequencePool<T> {
  private readonly free: T[]
  private readonly waiters: { resolve: (item: T) => void; reject: (e: Error) => void; signal: AbortSignal | undefined; onAbort: () => void }[] = []
  private busy = 0

  constructor(items: readonly T[]) {
    if (items.length === 0) throw new RangeError('a sequence pool needs at least one slot')
    this.free = [...items]
  }

  /** Slots handed out and not yet released (llamacpp:requests_processing). */
  get inUse(): number {
    return this.busy
  }

  /** Requests waiting for a slot (llamacpp:requests_deferred). */
  get waiting(): number {
    return this.waiters.length
  }

  get size(): number {
    return this.busy + this.free.length
  }

  /** Resolves with a free slot, waiting in FIFO order; rejects with the signal's reason on abort. */
  acquire(signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortReason(signal))
    const item = this.free.shift()
    if (item !== undefined && this.waiters.length === 0) {
      this.busy += 1
      return Promise.resolve(item)
    }
    if (item !== undefined) this.free.unshift(item)
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.waiters.indexOf(waiter)
          if (i >= 0) this.waiters.splice(i, 1)
          reject(abortReason(signal))
        },
      }
      signal?.addEventListener('abort', waiter.onAbort, { once: true })
      this.waiters.push(waiter)
    })
  }

  /** Returns a slot; the longest waiter gets it at once. */
  release(item: T): void {
    const next = this.waiters.shift()
    if (next !== undefined) {
      next.signal?.removeEventListener('abort', next.onAbort)
      next.resolve(item)
      return
    }
    this.busy -= 1
    this.free.push(item)
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  const r: unknown = signal?.reason
  return r instanceof Error ? r : new Error('aborted while waiting for a free sequence')
}
