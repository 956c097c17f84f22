import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { ServerClockProbe } from '../../src/adapters/clock/server-clock-probe.js'

test('the probe narrows a 1 s Date header to the true offset by timing its probes across second boundaries', async () => {
  const offsetMs = 3_700.4
  // a server whose clock runs 3.7 s ahead, stamping Date (whole seconds, RFC 9110 IMF-fixdate) at the request
  const server = createServer((_req, res) => {
    res.sendDate = false
    res.setHeader('Date', new Date(Date.now() + offsetMs).toUTCString())
    res.end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  try {
    const probe = new ServerClockProbe({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, wallMs: () => Date.now(), dateStalenessMs: 0, maxProbes: 8, targetUncertaintyMs: 20 })
    const o = await probe.run(new AbortController().signal)
    assert.ok(o !== null)
    assert.ok(Math.abs(o.offsetMs - offsetMs) <= o.uncertaintyMs + 2, `${o.offsetMs} ± ${o.uncertaintyMs}`)
    assert.ok(o.uncertaintyMs < 100, `narrowed to ±${o.uncertaintyMs} ms after ${o.observations} probes`)
  } finally {
    server.close()
  }
})

test('a server that cannot be reached leaves no estimate rather than a wrong one', async () => {
  const probe = new ServerClockProbe({ url: 'http://127.0.0.1:1/', wallMs: () => Date.now(), maxProbes: 2, timeoutMs: 500 })
  assert.equal(await probe.run(new AbortController().signal), null)
})
