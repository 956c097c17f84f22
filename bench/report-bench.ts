/**
 * Report generation time for a 100k-request run (target: under 5 s for the HTML report).
 * The synthetic run is built first and not timed; each format is then rendered from it, as
 * `tokenwatt report` does after reading the store. Run: npm run bench:report [-- REQUESTS]
 */
import { performance } from 'node:perf_hooks'
import { CostSchema } from '../src/core/config/cost-schema.js'
import { renderReport, type ReportFormat } from '../src/cli/report-render.js'
import { syntheticRun } from '../testkit/synthetic-run.js'

const requests = Number(process.argv[2] ?? 100_000)
const concurrency = 256
const built = performance.now()
const run = syntheticRun({ requests, concurrency, outputTokens: [64, 128] })
const chunks = run.requests.reduce((a, r) => a + r.chunkAtNs.length, 0)
process.stdout.write(
  `synthetic run: ${requests} requests, ${chunks} chunks, ${run.powerSamples.length} power samples, ${run.summary.window.durationS.toFixed(0)} s window (built in ${((performance.now() - built) / 1000).toFixed(2)} s, not timed)\n`,
)
const cost = CostSchema.parse({ preset: 'h100', accelerators: 4, utilization: 0.7 })
const results: { format: ReportFormat; seconds: number; bytes: number }[] = []
for (const format of ['html', 'md', 'json', 'csv', 'parquet'] as const) {
  const t0 = performance.now()
  const out = await renderReport(format, { ...run, cost })
  results.push({ format, seconds: (performance.now() - t0) / 1000, bytes: typeof out === 'string' ? Buffer.byteLength(out) : out.byteLength })
}
for (const r of results) process.stdout.write(`${r.format.padEnd(8)} ${r.seconds.toFixed(2).padStart(6)} s  ${(r.bytes / 1024).toFixed(0).padStart(7)} KiB\n`)
const html = results.find((r) => r.format === 'html')
const limitS = 5
process.stdout.write(`report generation (html, ${requests} requests): ${html?.seconds.toFixed(2)} s (limit ${limitS} s) — ${html && html.seconds < limitS ? 'PASS' : 'FAIL'}\n`)
process.exitCode = html && html.seconds < limitS ? 0 : 1
