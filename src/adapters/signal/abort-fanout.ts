/**
 * One `abort` listener per signal, however many requests or sleeps wait on it.
 *
 * A run aborts every in-flight request through one run-wide signal. Adding a listener per request puts
 * as many listeners on that signal as there are streams in flight (Node warns past 10:
 * MaxListenersExceededWarning), and each add/remove walks the signal's listener list on the hot path.
 * Here the signal gets a single listener that calls the callbacks subscribed at the time it fires;
 * unsubscribing is a Set delete, and the last one out removes the listener.
 */
interface Subscribers {
  readonly callbacks: Set<() => void>
  readonly fire: () => void
}

const subscribers = new WeakMap<AbortSignal, Subscribers>()

/**
 * Calls `onAbort` once when `signal` aborts, unless the returned function was called first. Like
 * `addEventListener`, it never fires for a signal that has already aborted: check `signal.aborted`.
 *
 * @example
 * const unsubscribe = subscribeAbort(runSignal, () => exchange.abort('aborted'))
 * // ... when the request ends:
 * unsubscribe()
 */
export function subscribeAbort(signal: AbortSignal, onAbort: () => void): () => void {
  if (signal.aborted) return noop
  let entry = subscribers.get(signal)
  if (entry === undefined) {
    const callbacks = new Set<() => void>()
    const fire = (): void => {
      subscribers.delete(signal)
      for (const f of [...callbacks]) f()
      callbacks.clear()
    }
    entry = { callbacks, fire }
    subscribers.set(signal, entry)
    signal.addEventListener('abort', fire, { once: true })
  }
  const { callbacks, fire } = entry
  callbacks.add(onAbort)
  return () => {
    // The last one out takes the signal's listener with it, so nothing is left on a long-lived signal.
    if (callbacks.delete(onAbort) && callbacks.size === 0 && subscribers.get(signal) === entry) {
      subscribers.delete(signal)
      signal.removeEventListener('abort', fire)
    }
  }
}

function noop(): void {}
