import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { openStore } from '../../src/adapters/store/sqlite-store.js'
import { startDashboard } from '../../src/dashboard/server.js'
import { CONTENT_SECURITY_POLICY } from '../../src/dashboard/app.js'

test('served over real HTTP on loopback, and with a token when bound to another address', async () => {
  const store = openStore(join(mkdtempSync(join(tmpdir(), 'tw-dash-srv-')), 'runs.db'))
  try {
    const local = await startDashboard({ store, host: '127.0.0.1', port: 0 })
    try {
      assert.equal(local.token, null)
      const res = await fetch(`${local.url}api/runs`)
      assert.equal(res.status, 200)
      assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY)
      assert.deepEqual(await res.json(), { runs: [] })
    } finally {
      await local.close()
    }
    const wide = await startDashboard({ store, host: '0.0.0.0', port: 0 })
    try {
      assert.ok(wide.token && wide.token.length >= 32)
      const port = new URL(wide.url).port
      assert.equal((await fetch(`http://127.0.0.1:${port}/api/runs`)).status, 401)
      assert.equal((await fetch(`http://127.0.0.1:${port}/api/runs`, { headers: { authorization: `Bearer ${wide.token}` } })).status, 200)
    } finally {
      await wide.close()
    }
  } finally {
    store.close()
  }
})
