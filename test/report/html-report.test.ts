import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { parquetReadObjects } from 'hyparquet'
import * as vl from 'vega-lite'
import { scopeSvgIds } from '../../src/adapters/charts/vega-svg.js'
import { renderReport } from '../../src/cli/report-render.js'
import { CostSchema } from '../../src/core/config/cost-schema.js'
import { computeCost } from '../../src/core/economics/compute-cost.js'
import type { PowerSample, RequestRecord } from '../../src/core/records.js'
import { buildChartSpecs } from '../../src/core/report/chart-specs.js'
import { buildReportModel } from '../../src/core/report/report-model.js'
import type { RunSummary } from '../../src/core/summary.js'
import { syntheticRun } from '../../testkit/synthetic-run.js'

const HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>"\'&'

/** A run where every string a server or config controls is hostile. */
function hostileRun(): { summary: RunSummary; requests: RequestRecord[]; powerSamples: PowerSample[] } {
  const run = syntheticRun({ requests: 400, concurrency: 16, model: HOSTILE })
  const base = run.summary
  const power = base.power!
  const summary: RunSummary = {
    ...base,
    id: `run-${HOSTILE}`,
    target: { endpoint: `http://127.0.0.1:8000/${HOSTILE}`, api: 'chat', model: HOSTILE, server: HOSTILE },
    config: { labels: { team: HOSTILE }, target: { model: HOSTILE } },
    warnings: [`server said: ${HOSTILE}`],
    power: {
      ...power,
      meters: power.meters.map((m) => ({ ...m, id: m.id === 'gpu' ? HOSTILE : m.id, channels: [HOSTILE] })),
      levels: power.levels.map((l) => ({ ...l, assumptions: l.assumptions.map((a) => ({ ...a, source: HOSTILE })) })),
    },
  }
  const powerSamples = run.powerSamples.map((s) => (s.meterId === 'gpu' ? { ...s, meterId: HOSTILE, channel: `${s.channel}${HOSTILE}` } : s))
  const requests = run.requests.map((r) => (r.error ? { ...r, error: { ...r.error, message: `=HYPERLINK("http://evil") ${HOSTILE}` } } : r))
  return { summary, requests, powerSamples }
}

const cost = CostSchema.parse({ preset: 'h100', accelerators: 4, mode: 'own', own: { serverCapexUsdPerAccelerator: 33_750, colocationUsdPerKwMonth: 150 }, utilization: 0.8 })

test('HTML report: self-contained, no script, hostile strings shown as text', async () => {
  const html = (await renderReport('html', { ...hostileRun(), cost })) as string
  assert.ok(!/<script/i.test(html), 'a <script> tag reached the report')
  assert.ok(!/<img/i.test(html), 'an <img> tag reached the report')
  const tags = [...html.matchAll(/<[^>]*>/g)].map((m) => m[0])
  const attributeNames = tags.flatMap((t) => [...t.matchAll(/\s([a-zA-Z_:][\w:.-]*)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/g)].map((a) => a[1]?.toLowerCase() ?? ''))
  assert.ok(attributeNames.length > 100)
  assert.deepEqual(attributeNames.filter((n) => n.startsWith('on')), [], 'an event-handler attribute reached the report')
  assert.ok(!/\s(src|href)\s*=\s*["']?(https?:)?\/\//i.test(html), 'the report references a network resource')
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">/)
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&quot;&#39;&amp;'), 'hostile model name shown escaped')
  // every chart rendered, each with the boundary/source caption
  for (const id of ['load', 'latency', 'power', 'energy', 'cost']) assert.match(html, new RegExp(`<figure id="chart-${id}"><h3>[^<]+</h3><svg `), id)
  // the legend carries the hostile meter id escaped by the SVG renderer
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;'))
  // element ids are unique across the inline SVGs
  const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1])
  assert.equal(new Set(ids).size, ids.length, 'duplicate element ids')
  for (const m of html.matchAll(/url\(#([^)]+)\)/g)) assert.ok(ids.includes(m[1]), `dangling url(#${m[1]})`)
})

test('SVG id scoping rewrites definitions and references only', () => {
  const svg = '<svg><defs><clipPath id="clip1"><rect/></clipPath></defs><g clip-path="url(#clip1)"><a href="#clip1"/><text>url(#other) id="x"</text></g></svg>'
  assert.equal(
    scopeSvgIds(svg, 'c'),
    '<svg><defs><clipPath id="c-clip1"><rect/></clipPath></defs><g clip-path="url(#c-clip1)"><a href="#c-clip1"/><text>url(#other) id="x"</text></g></svg>',
  )
})

test('chart specs compile without vega-lite warnings', () => {
  const run = syntheticRun({ requests: 300, concurrency: 8 })
  const priced = computeCost(cost, run.summary).cost
  const specs = buildChartSpecs(buildReportModel(run.summary, run.requests, run.powerSamples, { cost: priced }))
  assert.equal(specs.filter((s) => s.spec !== null).length, 5)
  for (const c of specs) {
    if (!c.spec) continue
    const messages: string[] = []
    const logger = { level: () => logger, warn: (...m: unknown[]) => (messages.push(m.join(' ')), logger), error: (...m: unknown[]) => (messages.push(m.join(' ')), logger), info: () => logger, debug: () => logger }
    vl.compile(c.spec as unknown as Parameters<typeof vl.compile>[0], { logger })
    assert.deepEqual(messages, [], c.id)
  }
})

test('a run without meters or cost still renders, saying what is missing', async () => {
  const run = syntheticRun({ requests: 100, concurrency: 4 })
  const html = (await renderReport('html', { summary: { ...run.summary, power: null, efficiency: null }, requests: run.requests, powerSamples: [] })) as string
  assert.match(html, /<figure id="chart-power"><h3>Power per meter<\/h3><p class="empty">no power samples: run with a meter/)
  assert.match(html, /No cost model configured: pass --preset NAME/)
})

test('CSV of request records: header, one row per request, formula injection defused', async () => {
  const { summary, requests, powerSamples } = hostileRun()
  const csv = (await renderReport('csv', { summary, requests, powerSamples })) as string
  const lines = csv.trimEnd().split('\r\n')
  assert.equal(lines[0], 'seq,phase,user_id,scheduled_at_ns,sent_at_ns,headers_at_ns,first_chunk_at_ns,last_byte_at_ns,chunks,ttft_ms,tpot_ms,e2e_ms,input_tokens,output_tokens,target_input_tokens,target_output_tokens,token_source,finish_reason,error_kind,error_status,error_message')
  assert.equal(lines.length, requests.length + 1)
  const failed = lines.find((l) => l.includes('http_status'))
  assert.ok(failed?.includes(`"'=HYPERLINK(""http://evil"")`), failed)
  const power = (await renderReport('csv', { summary, requests, powerSamples, table: 'power' })) as string
  assert.equal(power.split('\r\n')[0], 'meter_id,channel,at_ns,source_time_ms,power_w,energy_j')
})

test('Parquet of request records reads back with the same values', async () => {
  const run = syntheticRun({ requests: 200, concurrency: 8 })
  const bytes = (await renderReport('parquet', run)) as Uint8Array
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
  const rows = await parquetReadObjects({ file })
  assert.equal(rows.length, 200)
  const r = run.requests[17]!
  const row = rows[17] as Record<string, unknown>
  assert.equal(row.seq, 17)
  assert.equal(row.sent_at_ns, r.sentAtNs)
  assert.equal(row.chunks, r.chunkAtNs.length)
  assert.equal(row.error_kind, r.error?.kind ?? null)
  if (r.chunkAtNs[0] !== undefined) assert.equal(row.ttft_ms, (r.chunkAtNs[0] - r.sentAtNs) / 1e6)
})

test('JSON report carries the model and the summary', async () => {
  const run = syntheticRun({ requests: 100, concurrency: 4 })
  const doc = JSON.parse((await renderReport('json', { ...run, cost })) as string)
  assert.equal(doc.schema, 'tokenwatt.report/v1')
  assert.equal(doc.summary.schema, 'tokenwatt.run/v1')
  assert.ok(doc.cost.usdPerMillionOutputTokens > 0)
  assert.ok(doc.series.load.length > 10)
})

const CHROMIUM = '/usr/bin/chromium'
test('HTML report renders in headless Chromium: no requests, no dialogs, every chart drawn', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed (apt-get install chromium)` }, async () => {
  const { chromium } = await import('playwright-core')
  const dir = await mkdtemp(join(tmpdir(), 'tw-report-'))
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] })
  try {
    const file = join(dir, 'report.html')
    await writeFile(file, (await renderReport('html', { ...hostileRun(), cost })) as string)
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
    const external: string[] = []
    const problems: string[] = []
    let dialogs = 0
    page.on('request', (r) => void (r.url().startsWith('file:') || external.push(r.url())))
    page.on('pageerror', (e) => problems.push(e.message))
    page.on('console', (m) => void (m.type() === 'error' && problems.push(m.text())))
    page.on('dialog', (d) => {
      dialogs++
      void d.dismiss()
    })
    await page.goto(`file://${file}`)
    const boxes = await page.$$eval('figure svg', (svgs) => svgs.map((s) => s.getBoundingClientRect()).map((b) => ({ w: b.width, h: b.height })))
    assert.deepEqual(external, [])
    assert.equal(dialogs, 0)
    assert.deepEqual(problems, [])
    assert.equal(boxes.length, 5)
    for (const b of boxes) assert.ok(b.w > 300 && b.h > 100, JSON.stringify(b))
    assert.equal(await page.title(), `${HOSTILE} — token economics`)
  } finally {
    await browser.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test('active-content check flags code and links in tags, not escaped text', async () => {
  const { activeContent } = await import('../../src/adapters/charts/vega-svg.js')
  assert.equal(activeContent('<svg><text aria-label="x onerror=1">&lt;script&gt; onload=2</text></svg>'), null)
  assert.equal(activeContent('<svg><g clip-path="url(#c)"><a href="#c"/></g></svg>'), '<a href="#c"/>')
  assert.equal(activeContent('<svg><rect onclick="x()"/></svg>'), '<rect onclick="x()"/>')
  assert.equal(activeContent('<svg><foreignObject></foreignObject></svg>'), '<foreignObject>')
  assert.equal(activeContent('<svg><image href="http://x/y.png"/></svg>'), '<image href="http://x/y.png"/>')
})
