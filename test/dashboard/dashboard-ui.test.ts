// The dashboard's browser UI in a real browser (playwright-core driving Debian's chromium): the live
// view of a bench against the mock updates while it runs and, once it ends, shows the figures of the
// stored run; the runs list, a sweep's points and a comparison render; no CSP violation, no request
// leaves loopback. Screenshots go to TW_SCREENSHOTS (or a temp folder) for a person to look at.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { openStore } from '../../src/adapters/store/sqlite-store.js'
import { UI_DIR } from '../../src/dashboard/app.js'
import { startDashboard, type DashboardServer } from '../../src/dashboard/server.js'
import type { RunSummary } from '../../src/core/summary.js'
import { startMockServer, type MockServer } from '../../src/engines/mock/index.js'
import { runCli } from '../../testkit/cli.js'

const CHROMIUM = '/usr/bin/chromium'
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed (apt-get install chromium)`
let dir: string
let shots: string
let mock: MockServer

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tw-dash-ui-'))
  shots = process.env.TW_SCREENSHOTS ?? join(dir, 'screenshots')
  mkdirSync(shots, { recursive: true })
  mock = await startMockServer({ port: 0, ttftMs: 20, itlMs: 5 })
  // the bundle is built by `npm run build` (prepare); build it here when a checkout has not
  if (!existsSync(join(UI_DIR, 'app.js'))) {
    const r = spawnSync(process.execPath, [join(import.meta.dirname, '../../scripts/build-dashboard.mjs')], { encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
  }
})
after(async () => {
  await mock.close()
})

const store = (): string[] => ['--store', join(dir, 'runs.db')]

async function browser() {
  const { chromium } = await import('playwright-core')
  // a launch that stalls fails in a minute with playwright's message, not at the file's timeout
  return chromium.launch({ timeout: 60_000, executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] })
}

test('live view of a bench against the mock: numbers update while it runs, then equal the stored run', { skip }, async () => {
  const port = 20000 + Math.floor(Math.random() * 20000)
  const bench = runCli(['bench', '--endpoint', mock.baseUrl, '--concurrency', '4', '--duration', '6', '--output-tokens', '16', '--meter', 'mock', '--boundary', 'device', '--dashboard', `127.0.0.1:${port}`, '--out', join(dir, 'out'), '--no-progress', '--json', ...store()], { cwd: dir })
  const b = await browser()
  const problems: string[] = []
  try {
    const page = await b.newPage()
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text())
    })
    page.on('request', (r) => {
      if (!r.url().startsWith(`http://127.0.0.1:${port}/`)) problems.push(`request off loopback: ${r.url()}`)
    })
    // the dashboard starts with the bench; wait for it, then open the running run from the list
    let listed = false
    for (let i = 0; i < 100 && !listed; i++) {
      listed = await page.goto(`http://127.0.0.1:${port}/`).then(
        async () => (await page.locator('[data-testid=runs] a').count()) > 0,
        () => false,
      )
      if (!listed) await new Promise((r) => setTimeout(r, 100))
    }
    assert.ok(listed, 'the runs list shows the running run')
    await page.locator('[data-testid=runs] a').first().click()
    await page.waitForSelector('[data-testid=live-requests]')
    const first = Number((await page.locator('[data-testid=live-requests]').innerText()).replace(/,/g, ''))
    // live: the count grows while the run goes (the page gets a snapshot a second)
    let later = first
    for (let i = 0; i < 50 && later <= first; i++) {
      await new Promise((r) => setTimeout(r, 100))
      later = Number((await page.locator('[data-testid=live-requests]').innerText()).replace(/,/g, ''))
    }
    assert.ok(later > first, `requests done ${first} → ${later}`)
    await page.waitForSelector('[data-testid=live-chart] canvas', { timeout: 5000 })
    await page.screenshot({ path: join(shots, 'live.png'), fullPage: true })
    // Keep the page open until the run ends; the server closes with the bench, so read the final figures
    // from a dashboard over the same store.
    const r = await bench
    assert.equal(r.code, 0, r.stderr)
    const s = JSON.parse(r.stdout) as RunSummary
    const st = openStore(join(dir, 'runs.db'))
    let server: DashboardServer | null = null
    try {
      server = await startDashboard({ store: st, host: '127.0.0.1', port })
      await page.goto(`${server.url}#/run/${s.id}`)
      await page.waitForSelector('[data-testid=requests]')
      const text = async (id: string): Promise<string> => (await page.locator(`[data-testid=${id}]`).innerText()).trim()
      assert.equal(await text('status'), 'complete')
      assert.equal(await text('requests'), s.requests.total.toLocaleString('en-US'))
      assert.equal(await text('output-tokens'), Math.round(s.tokens.output).toLocaleString('en-US'))
      const fmt = (v: number | null | undefined, d = 3): string => (v === null || v === undefined ? 'n/a' : Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : Number(v.toPrecision(d)).toString())
      assert.equal(await text('tps'), fmt(s.throughput.outputTokensPerS))
      assert.equal(await text('j-per-token'), fmt(s.efficiency?.joulesPerOutputToken, 4))
      await page.screenshot({ path: join(shots, 'run.png'), fullPage: true })

      // a second run, then the two compared from the list
      const r2 = await runCli(['bench', '--endpoint', mock.baseUrl, '--concurrency', '2', '--requests', '20', '--output-tokens', '16', '--meter', 'mock', '--boundary', 'device', '--out', join(dir, 'out'), '--no-progress', '--json', ...store()], { cwd: dir })
      assert.equal(r2.code, 0, r2.stderr)
      await page.goto(server.url)
      await page.waitForSelector('[data-testid=runs] input[type=checkbox]')
      const boxes = page.locator('[data-testid=runs] input[type=checkbox]')
      assert.equal(await boxes.count(), 2)
      await boxes.nth(0).check()
      await boxes.nth(1).check()
      await page.locator('[data-testid=compare-link]').click()
      await page.waitForSelector('[data-testid=compare] tbody tr')
      assert.ok((await page.locator('[data-testid=compare] tbody tr').count()) >= 5)
      assert.match(await page.locator('[data-testid=compare]').innerText(), /Output tokens per joule/i)
      await page.screenshot({ path: join(shots, 'compare.png'), fullPage: true })
    } finally {
      await server?.close()
      st.close()
    }
    assert.deepEqual(problems, [], 'no console errors (CSP violations show there) and nothing off loopback')
  } finally {
    await b.close()
    await bench.catch(() => undefined)
  }
})

test('a sweep\'s points, and a token when bound beyond loopback (taken from the URL fragment)', { skip }, async () => {
  const r = await runCli(['sweep', '--endpoint', mock.baseUrl, '--knob', 'concurrency=1,3', '--requests', '12', '--output-tokens', '8', '--meter', 'mock', '--boundary', 'device', '--out', join(dir, 'out'), '--no-progress', '--json', ...store()], { cwd: dir })
  assert.equal(r.code, 0, r.stderr)
  const sweep = JSON.parse(r.stdout) as { id: string }
  const st = openStore(join(dir, 'runs.db'))
  // bound on every address: the API wants the token, which the page takes from #token=
  const server = await startDashboard({ store: st, host: '0.0.0.0', port: 0 })
  const b = await browser()
  try {
    assert.ok(server.token)
    const url = server.url.replace('0.0.0.0', '127.0.0.1')
    const page = await b.newPage()
    await page.goto(`${url}#/sweep/${sweep.id}&token=${server.token}`)
    await page.waitForSelector('[data-testid=sweep-points] tbody tr')
    assert.equal(await page.locator('[data-testid=sweep-points] tbody tr').count(), 2)
    assert.match(await page.locator('section').innerText(), /lowest J per output token: concurrency=/)
    await page.screenshot({ path: join(shots, 'sweep.png'), fullPage: true })
    // without the token the API refuses and the page says so
    const bare = await b.newPage()
    await bare.goto(`${url}#/`)
    await bare.waitForSelector('.error')
    assert.match(await bare.locator('.error').innerText(), /token required/)
  } finally {
    await b.close()
    await server.close()
    st.close()
  }
})
