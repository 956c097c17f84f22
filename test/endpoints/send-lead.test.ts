import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MAX_SEND_LEAD_NS, SendLead, spinUntil } from '../../src/adapters/endpoints/send-lead.js'

test('the send lead starts at 1 ms, then covers the 95th percentile of the measured hand-over lags plus 50 µs', () => {
  const lead = new SendLead()
  assert.equal(lead.ns, 1_000_000)
  // 60 lags of 0.2 ms and 4 of 0.6 ms: the 95th percentile (61st of 64) is 0.6 ms
  for (let i = 0; i < 60; i++) lead.observe(200_000)
  for (let i = 0; i < 4; i++) lead.observe(600_000)
  assert.equal(lead.ns, 650_000)
  // the window is the last 64: after 64 lags of 0.3 ms the slow ones are forgotten
  for (let i = 0; i < 64; i++) lead.observe(300_000)
  assert.equal(lead.ns, 350_000)
})

test('the send lead stays between 0.1 and 2 ms', () => {
  const lead = new SendLead()
  for (let i = 0; i < 64; i++) lead.observe(0)
  assert.equal(lead.ns, 100_000)
  for (let i = 0; i < 64; i++) lead.observe(50_000_000)
  assert.equal(lead.ns, MAX_SEND_LEAD_NS)
})

test('spinUntil returns at the instant, and never holds the thread longer than the longest lead', () => {
  let t = 0
  const now = (): number => (t += 10_000)
  spinUntil(now, 500_000)
  assert.ok(t >= 500_000 && t < 520_000)
  t = 0
  spinUntil(now, 1e12)
  assert.ok(t >= MAX_SEND_LEAD_NS && t < MAX_SEND_LEAD_NS + 20_000)
})
