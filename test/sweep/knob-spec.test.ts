import assert from 'node:assert/strict'
import { test } from 'node:test'
import { gridIndices, gridSize, parseKnobSpec, pointKey } from '../../src/core/sweep/knob-spec.js'
import { ConfigError } from '../../src/core/errors.js'

test('knob specs: lists, inclusive ranges, grid product', () => {
  assert.deepEqual(parseKnobSpec('concurrency=1,2,4').values, [1, 2, 4])
  assert.deepEqual(parseKnobSpec('gpu.power-limit-w=300:700:100').values, [300, 400, 500, 600, 700])
  assert.deepEqual(parseKnobSpec('rate=0.5:1.5:0.5').values, [0.5, 1, 1.5])
  const axes = [parseKnobSpec('concurrency=1,2'), parseKnobSpec('server.max_num_seqs=8,16,32')]
  assert.equal(gridSize(axes), 6)
  assert.equal(gridIndices(axes).length, 6)
  assert.equal(pointKey({ b: 2, a: 1 }), 'a=1,b=2')
})

test('knob specs: bad names and values are one-line config errors', () => {
  assert.throws(() => parseKnobSpec('gpu.bogus=1'), ConfigError)
  assert.throws(() => parseKnobSpec('concurrency=a,b'), ConfigError)
  assert.throws(() => parseKnobSpec('concurrency=5:1:1'), ConfigError)
  assert.throws(() => parseKnobSpec('concurrency'), ConfigError)
})
