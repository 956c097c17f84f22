// Issue 13.1: a run aborts its in-flight requests through one run-wide signal; each request used to
// add its own abort listener to it, so 11+ concurrent streams printed MaxListenersExceededWarning.
import assert from 'node:assert/strict'
import { getEventListeners } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { subscribeAbort } from '../../src/adapters/signal/abort-fanout.js'
import { startMockServer, type MockServer } from '../../src/engines/mock/index.js'
import { runCli } from '../../testkit/cli.js'

let dir: string
let mock: MockServer
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tw-abort-'))
  mock = await startMockServer({ port: 0, ttftMs: 1, itlMs: 1 })
})
after(async () => {
  await mock.close()
})

test('10,000 requests at 512 streams: no process warning and no abort listener left on the run signal', async () => {
  const warnings: string[] = []
  const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`)
  process.on('warning', onWarning)
  const controller = new AbortController()
  try {
    const r = await runCli(
      ['bench', '--endpoint', mock.baseUrl, '--model', 'mock', '--concurrency', '512', '--requests', '10000', '--input-tokens', '8', '--output-tokens', '2', '--json', '--no-progress', '--store', join(dir, 'runs.db'), '--out', join(dir, 'out')],
      { cwd: dir, signal: controller.signal },
    )
    assert.equal(r.code, 0, r.stderr)
    const s = JSON.parse(r.stdout) as { requests: { total: number; failed: number } }
    assert.equal(s.requests.total, 10_000)
    assert.equal(s.requests.failed, 0)
  } finally {
    process.off('warning', onWarning)
  }
  assert.deepEqual(warnings, [])
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0)
})

test('the last subscriber out removes the listener; a new subscriber adds it back', () => {
  const controller = new AbortController()
  const a = subscribeAbort(controller.signal, () => undefined)
  a()
  a()
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0)
  let fired = false
  subscribeAbort(controller.signal, () => (fired = true))
  assert.equal(getEventListeners(controller.signal, 'abort').length, 1)
  controller.abort()
  assert.equal(fired, true)
})

test('subscribeAbort puts one listener on a signal however many subscribe, and calls only those still subscribed', () => {
  const controller = new AbortController()
  const called: number[] = []
  const unsubscribes = Array.from({ length: 600 }, (_, i) => subscribeAbort(controller.signal, () => called.push(i)))
  assert.equal(getEventListeners(controller.signal, 'abort').length, 1)
  for (const u of unsubscribes.slice(0, 599)) u()
  assert.equal(getEventListeners(controller.signal, 'abort').length, 1)
  controller.abort()
  assert.deepEqual(called, [599])
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0)
  let late = false
  subscribeAbort(controller.signal, () => (late = true))
  assert.equal(late, false, 'like addEventListener, an aborted signal never fires again')
})
