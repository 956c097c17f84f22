import type { MockFaultName, MockFaults } from './mock-config.js'

const FAULT_NAMES: readonly MockFaultName[] = ['rateLimit', 'serverError', 'stall', 'disconnect', 'malformed', 'errorEvent', 'missingUsage', 'slowHeaders']

/**
 * Which faults strike request number `n` (1-based over completion requests). Deterministic: `every`
 * is a plain modulus, and `probability` draws from a hash of (seed, fault, n), so the same request
 * number gets the same faults whatever order concurrent requests happened to arrive in.
 * A status fault (429 or 5xx) pre-empts the stream faults: there is no stream to break.
 */
export function faultsFor(faults: MockFaults, seed: number, n: number): Set<MockFaultName> {
  const hit = new Set<MockFaultName>()
  FAULT_NAMES.forEach((name, index) => {
    const rule = faults[name]
    if ((rule.every !== undefined && n % rule.every === 0) || (rule.probability !== undefined && uniform(seed, index, n) < rule.probability)) hit.add(name)
  })
  if (hit.has('rateLimit')) return new Set(['rateLimit'])
  if (hit.has('serverError')) return new Set(['serverError'])
  return hit
}

/** A uniform number in [0, 1) from (seed, stream, n): splitmix32-style mixing, no state. */
export function uniform(seed: number, stream: number, n: number): number {
  let h = (seed ^ Math.imul(stream + 1, 0x9e3779b9) ^ Math.imul(n, 0x85ebca6b)) >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x21f0aaad)
  h = Math.imul(h ^ (h >>> 15), 0x735a2d97)
  h ^= h >>> 15
  return (h >>> 0) / 4294967296
}
