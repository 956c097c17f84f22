import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { openStore } from '../../src/adapters/store/sqlite-store.js'
import { startDashboard } from '../../src/dashboard/server.js'
import type { LiveSnapshot } from '../../src/dashboard/live-snapshot.js'
import { startMockServer } from '../../src/engines/mock/index.js'
import { runCli } from '../../testkit/cli.js'

/** Reads an SSE response to its end and returns the data of every `snapshot` event. */
async function readSnapshots(res: Response): Promise<LiveSnapshot[]> {
  const text = await res.text()
  return text
    .split(/\n\n/)
    .filter((block) => block.includes('event: snapshot'))
    .map((block) => JSON.parse(block.split('\n').find((l) => l.startsWith('data: '))?.slice(6) ?? 'null') as LiveSnapshot)
}

test('live view of a bench against the mock: SSE snapshots at 1 Hz while it runs; the last matches the stored records', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-dash-live-'))
  const dbPath = join(dir, 'runs.db')
  const mock = await startMockServer({ port: 0, ttftMs: 20, itlMs: 5 })
  const store = openStore(dbPath)
  const dash = await startDashboard({ store, host: '127.0.0.1', port: 0 })
  try {
    const bench = runCli(['bench', '--endpoint', mock.baseUrl, '--meter', 'mock', '--concurrency', '3', '--duration', '4s', '--output-tokens', '16', '--store', dbPath, '--out', join(dir, 'out'), '--no-progress', '--json'], { cwd: dir })
    let id: string | undefined
    while (id === undefined) {
      await new Promise((r) => setTimeout(r, 50))
      id = ((await (await fetch(`${dash.url}api/runs`)).json()) as { runs: { id: string; status: string }[] }).runs.find((r) => r.status === 'running')?.id
    }
    const snaps = await readSnapshots(await fetch(`${dash.url}api/runs/${id}/stream`))
    const r = await bench
    assert.equal(r.code, 0, r.stderr)
    const running = snaps.filter((s) => s.status === 'running')
    assert.ok(running.length >= 3, `${running.length} snapshots while running`)
    for (let i = 1; i < running.length; i++) assert.ok((running[i] as LiveSnapshot).requestsDone >= (running[i - 1] as LiveSnapshot).requestsDone)
    const last = snaps.at(-1) as LiveSnapshot
    assert.equal(last.status, 'complete')
    // Independently from the stored records: counts, tokens, median TTFT, the mock meter's energy per token.
    const records = store.getRequests(id).filter((q) => q.phase === 'measure')
    assert.equal(last.requestsDone, records.length)
    assert.equal(last.outputTokens, records.reduce((s, q) => s + (q.outputTokens ?? 0), 0))
    const ttft = records.map((q) => ((q.chunkAtNs[0] as number) - q.sentAtNs) / 1e6).sort((a, b) => a - b)
    const mid = (ttft.length - 1) / 2
    assert.ok(Math.abs((last.ttftMsP50 as number) - ((ttft[Math.floor(mid)] as number) + (ttft[Math.ceil(mid)] as number)) / 2) < 1e-9)
    assert.ok((last.ttftMsP50 as number) >= 19)
    const meter = last.meters[0]
    assert.ok(meter && meter.avgW !== null && meter.avgW > 0, JSON.stringify(last.meters))
    assert.ok(Math.abs((meter.joulesPerOutputToken as number) - (meter.energyJ as number) / last.outputTokens) < 1e-12)
    // Compare: the finished run against itself through the API gives both columns the stored summary's throughput.
    const cmp = (await (await fetch(`${dash.url}api/compare?run=${id}&run=${id}`)).json()) as { runs: { id: string }[] }
    assert.deepEqual(cmp.runs.map((x) => x.id), [id, id])
    assert.equal((await fetch(`${dash.url}api/compare?run=${id}`)).status, 400)
  } finally {
    await dash.close()
    store.close()
    await mock.close()
  }
})
