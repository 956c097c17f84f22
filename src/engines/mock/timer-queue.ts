import type { Clock } from '../../core/ports.js'

interface Task {
  readonly atNs: number
  readonly order: number
  readonly run: () => void
}

/**
 * Runs callbacks at absolute times on one timer: a binary heap ordered by due time (ties in the order
 * they were added), and a single `setTimeout` armed for the earliest. Thousands of streams cost one
 * timer, and every stream keeps its own absolute schedule, so lateness never accumulates.
 */
export class TimerQueue {
  private readonly heap: Task[] = []
  private timer: NodeJS.Timeout | null = null
  private armedForNs = Infinity
  private added = 0
  private firing = false

  constructor(private readonly clock: Clock) {}

  /** Runs `run` at or just after `atNs` (the queue's clock). */
  at(atNs: number, run: () => void): void {
    this.push({ atNs, order: this.added++, run })
    if (!this.firing && atNs < this.armedForNs) this.arm()
  }

  /** Drops every pending task. */
  clear(): void {
    this.heap.length = 0
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.armedForNs = Infinity
  }

  get size(): number {
    return this.heap.length
  }

  private arm(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    const first = this.heap[0]
    if (first === undefined) {
      this.armedForNs = Infinity
      return
    }
    this.armedForNs = first.atNs
    const delayMs = Math.max(0, Math.ceil((first.atNs - this.clock.nowNs()) / 1e6))
    this.timer = setTimeout(() => this.fire(), delayMs)
  }

  private fire(): void {
    this.timer = null
    this.armedForNs = Infinity
    const now = this.clock.nowNs()
    this.firing = true
    try {
      for (let first = this.heap[0]; first !== undefined && first.atNs <= now; first = this.heap[0]) {
        this.pop()
        first.run()
      }
    } finally {
      this.firing = false
      this.arm()
    }
  }

  private push(task: Task): void {
    const h = this.heap
    h.push(task)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      const parent = h[p] as Task
      if (!before(task, parent)) break
      h[i] = parent
      i = p
    }
    h[i] = task
  }

  private pop(): void {
    const h = this.heap
    const last = h.pop()
    if (last === undefined || h.length === 0) return
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      let best = last
      const left = h[l]
      const right = h[r]
      if (left !== undefined && before(left, best)) {
        m = l
        best = left
      }
      if (right !== undefined && before(right, best)) {
        m = r
        best = right
      }
      if (m === i) break
      h[i] = best
      i = m
    }
    h[i] = last
  }
}

function before(a: Task, b: Task): boolean {
  return a.atNs < b.atNs || (a.atNs === b.atNs && a.order < b.order)
}
