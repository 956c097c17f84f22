import assert from 'node:assert/strict'
import { test } from 'node:test'
import { lowestMeteredBoundary } from '../../src/core/analysis/finish-summary.js'
import type { MeterInfo } from '../../src/core/ports.js'

const meter = (boundary: MeterInfo['boundary'], estimated = false): MeterInfo => ({
  id: boundary,
  kind: estimated ? 'estimate' : 'rapl',
  boundary,
  hasCounter: true,
  periodMs: 100,
  averagingWindowMs: 0,
  accuracyRel: 0.05,
  accuracyW: 0,
  estimated,
  description: '',
})

test('the default headline boundary is the innermost one a real meter reads, an estimate only as a last resort', () => {
  assert.equal(lowestMeteredBoundary([]), 'device')
  assert.equal(lowestMeteredBoundary([meter('rack'), meter('node')]), 'node')
  assert.equal(lowestMeteredBoundary([meter('device', true), meter('rack')]), 'rack')
  assert.equal(lowestMeteredBoundary([meter('node', true)]), 'node')
})
