import assert from 'node:assert/strict'
import { test } from 'node:test'
import { describe, percentileSorted } from '../../src/core/analysis/stats.js'

test('percentiles interpolate linearly between closest ranks (numpy default)', () => {
  const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
  // numpy.percentile(range(1, 11), [50, 90, 99]) = 5.5, 9.1, 9.91
  assert.equal(percentileSorted(xs, 50), 5.5)
  assert.ok(Math.abs((percentileSorted(xs, 90) as number) - 9.1) < 1e-12)
  assert.ok(Math.abs((percentileSorted(xs, 99) as number) - 9.91) < 1e-12)
  assert.equal(percentileSorted([], 50), null)
  assert.equal(percentileSorted([7], 99), 7)
})

test('describe ignores non-finite values and reports count, mean, spread', () => {
  const s = describe([3, 1, Number.NaN, 2, Infinity])
  assert.equal(s.count, 3)
  assert.equal(s.mean, 2)
  assert.equal(s.min, 1)
  assert.equal(s.max, 3)
  assert.equal(s.p50, 2)
  assert.equal(s.stddev, 1)
  assert.equal(describe([]).mean, null)
})
