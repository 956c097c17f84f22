import assert from 'node:assert/strict'
import { test } from 'node:test'
import { BenchConfigSchema } from '../../src/core/config/bench-schema.js'
import { parseDistributionFlag } from '../../src/core/config/distribution.js'
import { arrivalOffsetsNs } from '../../src/core/load/arrivals.js'
import { parseJsonlDataset, parseShareGptDataset } from '../../src/core/load/dataset.js'
import { fitCalibration } from '../../src/core/load/prompts.js'
import { createRng } from '../../src/core/load/rng.js'
import { sampleLength } from '../../src/core/load/sample-length.js'
import { createWorkload } from '../../src/core/load/workload.js'

const cal = { overheadTokens: 0, tokensPerWord: 1, source: 'estimate' as const }

test('the same seed gives the same requests, in any order', () => {
  const cfg = BenchConfigSchema.parse({ stop: { requests: 1 }, workload: { input: { type: 'uniform', low: 10, high: 100 }, output: { type: 'lognormal', mean: 50, stddev: 20 } } })
  const a = createWorkload(cfg, cal, null)
  const b = createWorkload(cfg, cal, null)
  const slot = (seq: number) => ({ seq, phase: 'measure' as const, userId: 0, scheduledAtNs: null })
  const fromA = [0, 1, 2, 3].map((s) => a.request(slot(s)))
  const fromB = [3, 2, 1, 0].map((s) => b.request(slot(s))).reverse()
  assert.deepEqual(fromA, fromB)
  assert.notDeepEqual(fromA[0], fromA[1])
})

test('synthetic prompts hit their target length under the calibration, shared prefix included', () => {
  const cfg = BenchConfigSchema.parse({ stop: { requests: 1 }, target: { api: 'completions' }, workload: { input: 200, sharedPrefixTokens: 50 } })
  const w = createWorkload(cfg, cal, null)
  const r1 = w.request({ seq: 1, phase: 'measure', userId: null, scheduledAtNs: null })
  const r2 = w.request({ seq: 2, phase: 'measure', userId: null, scheduledAtNs: null })
  assert.equal(r1.text?.split(' ').length, 200)
  assert.equal(r1.targetInputTokens, 200)
  assert.equal(r1.text?.split(' ').slice(0, 50).join(' '), r2.text?.split(' ').slice(0, 50).join(' '))
  assert.notEqual(r1.text, r2.text)
  // Chat wraps the prompt in one user message.
  const chat = createWorkload({ ...cfg, target: { ...cfg.target, api: 'chat' } }, cal, null).request({ seq: 1, phase: 'measure', userId: null, scheduledAtNs: null })
  assert.equal(chat.messages?.[0]?.role, 'user')
  assert.equal(chat.text, null)
})

test('calibration fits overhead and tokens per word from two measured points', () => {
  const c = fitCalibration({ words: 16, tokens: 30 }, { words: 400, tokens: 606 }, 'probe')
  assert.equal(c.tokensPerWord, 1.5)
  assert.equal(c.overheadTokens, 6)
})

test('length distributions have the asked-for moments and bounds', () => {
  const rng = createRng(7)
  const n = 20000
  for (const [d, mean, sd] of [
    [{ type: 'normal', mean: 500, stddev: 50 }, 500, 50],
    [{ type: 'lognormal', mean: 500, stddev: 200 }, 500, 200],
    [{ type: 'uniform', low: 100, high: 300 }, 200, 57.7],
  ] as const) {
    const xs = Array.from({ length: n }, () => sampleLength(d, rng))
    const m = xs.reduce((a, b) => a + b, 0) / n
    const s = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1))
    assert.ok(Math.abs(m - mean) / mean < 0.02, `${d.type} mean ${m}`)
    assert.ok(Math.abs(s - sd) / sd < 0.06, `${d.type} sd ${s}`)
  }
  assert.equal(sampleLength({ type: 'normal', mean: 5, stddev: 100, min: 3, max: 8 }, rng) >= 3, true)
  assert.deepEqual(parseDistributionFlag('uniform:100-900'), { type: 'uniform', low: 100, high: 900 })
  assert.deepEqual(parseDistributionFlag('lognormal:512,200'), { type: 'lognormal', mean: 512, stddev: 200 })
  assert.equal(parseDistributionFlag('256'), 256)
})

test('arrival processes: constant is exact, Poisson has CV 1, gamma burstiness 0.25 has CV 2', () => {
  const gaps = (type: 'constant' | 'poisson' | 'gamma', k: number): number[] => {
    const it = arrivalOffsetsNs(type, 100, k, createRng(3))
    const xs: number[] = []
    let prev = it.next().value as number
    for (let i = 0; i < 20000; i++) {
      const t = it.next().value as number
      xs.push(t - prev)
      prev = t
    }
    return xs
  }
  const cv = (xs: number[]): [number, number] => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length
    return [m, Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length) / m]
  }
  assert.ok(gaps('constant', 1).every((g) => Math.abs(g - 1e7) < 1e-3))
  const [pm, pcv] = cv(gaps('poisson', 1))
  assert.ok(Math.abs(pm - 1e7) / 1e7 < 0.03 && Math.abs(pcv - 1) < 0.05, `poisson ${pm} ${pcv}`)
  const [gm, gcv] = cv(gaps('gamma', 0.25))
  assert.ok(Math.abs(gm - 1e7) / 1e7 < 0.06 && Math.abs(gcv - 2) < 0.15, `gamma ${gm} ${gcv}`)
})

test('datasets: JSONL prompts/messages and ShareGPT conversations, with clear errors', () => {
  const items = parseJsonlDataset('{"prompt":"hi","output_tokens":5}\n\n{"messages":[{"role":"user","content":"yo"}]}\n')
  assert.equal(items.length, 2)
  assert.equal(items[0]?.outputTokens, 5)
  assert.equal(items[1]?.messages?.[0]?.content, 'yo')
  assert.throws(() => parseJsonlDataset('{"prompt":1}\n'), /line 1: needs "prompt"/)
  assert.throws(() => parseJsonlDataset('nope'), /line 1: not valid JSON/)
  const sg = parseShareGptDataset(
    JSON.stringify([{ conversations: [{ from: 'human', value: 'q one' }, { from: 'gpt', value: 'a b c d' }] }, { conversations: [{ from: 'gpt', value: 'x' }] }]),
    (t) => t.split(' ').length,
  )
  assert.equal(sg.length, 1)
  assert.equal(sg[0]?.text, 'q one')
  assert.equal(sg[0]?.outputTokens, 4)
})
