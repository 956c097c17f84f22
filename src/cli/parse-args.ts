import { InvalidArgumentError } from 'commander'
import { parseExecutionSegment } from '../core/load/execution-segment.js'

/** Argument parsers for commander: each rejects bad input with a message that says what is wanted. */
export function positiveInt(value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number')
  return n
}

/** `--workers`: a thread count or `auto`. */
export function workersFlag(value: string): number | 'auto' {
  if (value.trim() === 'auto') return 'auto'
  const n = Number(value)
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number of threads or auto')
  return n
}

export function nonNegativeInt(value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number >= 0')
  return n
}

export function positiveNumber(value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number > 0')
  return n
}

export function number(value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number')
  return n
}

/** Seconds from `90`, `90s`, `1.5m`, `2h`. */
export function durationS(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(value.trim())
  if (!m) throw new InvalidArgumentError('expected a duration such as 60, 60s, 5m or 1h')
  const n = Number(m[1])
  const unit = m[2] ?? 's'
  const s = unit === 'ms' ? n / 1000 : unit === 'm' ? n * 60 : unit === 'h' ? n * 3600 : n
  if (!(s > 0)) throw new InvalidArgumentError('expected a duration > 0')
  return s
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

/** `Name: value` → [name, value]. */
export function headerPair(value: string): [string, string] {
  const i = value.indexOf(':')
  if (i <= 0) throw new InvalidArgumentError('expected "Name: value"')
  return [value.slice(0, i).trim(), value.slice(i + 1).trim()]
}

/** `key=value` → [key, value]. */
export function keyValue(value: string): [string, string] {
  const i = value.indexOf('=')
  if (i <= 0) throw new InvalidArgumentError('expected key=value')
  return [value.slice(0, i).trim(), value.slice(i + 1).trim()]
}

/** `--shard i/n` (0 ≤ i < n). */
export function shardFlag(value: string): { index: number; count: number } {
  const seg = parseExecutionSegment(value)
  if ('error' in seg) throw new InvalidArgumentError(seg.error)
  return { index: seg.index, count: seg.count }
}
