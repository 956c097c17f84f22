import assert from 'node:assert/strict'
import { test } from 'node:test'
import { describeSegment, globalItem, itemsInSegment, ownsItem, parseExecutionSegment, WHOLE_SCHEDULE } from '../../src/core/load/execution-segment.js'

test('n segments own every item of the schedule exactly once, striped', () => {
  for (const count of [1, 2, 3, 7]) {
    const owners = Array.from({ length: 50 }, (_, j) => Array.from({ length: count }, (_, index) => index).filter((index) => ownsItem({ index, count }, j)))
    for (const [j, o] of owners.entries()) assert.deepEqual(o, [j % count], `item ${j} of ${count} parts`)
  }
})

test('itemsInSegment counts what ownsItem keeps; globalItem numbers a segment\'s own items', () => {
  for (const count of [1, 3, 4]) {
    for (let index = 0; index < count; index++) {
      const seg = { index, count }
      for (const total of [0, 1, 2, 5, 12, 13]) {
        const owned = Array.from({ length: total }, (_, j) => j).filter((j) => ownsItem(seg, j))
        assert.equal(itemsInSegment(seg, total), owned.length, `${index}/${count} of ${total}`)
        assert.deepEqual(owned, owned.map((_, k) => globalItem(seg, k)))
      }
    }
  }
  assert.equal(itemsInSegment({ index: 2, count: 3 }, Infinity), Infinity)
  // the parts of any total add up to the total
  assert.equal([0, 1, 2, 3].reduce((s, index) => s + itemsInSegment({ index, count: 4 }, 10), 0), 10)
})

test('parseExecutionSegment takes i/n with a 0-based index and names what is wrong otherwise', () => {
  assert.deepEqual(parseExecutionSegment('0/1'), WHOLE_SCHEDULE)
  assert.deepEqual(parseExecutionSegment(' 2 / 3 '), { index: 2, count: 3 })
  assert.match((parseExecutionSegment('3/3') as { error: string }).error, /0-based and must be below 3/)
  assert.match((parseExecutionSegment('1/0') as { error: string }).error, /at least 1/)
  assert.match((parseExecutionSegment('a/b') as { error: string }).error, /is not i\/n/)
  assert.equal(describeSegment({ index: 1, count: 4 }), '1/4')
})
