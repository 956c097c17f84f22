/**
 * `tokenwatt import` on large result files: parse time per format, then the whole command (parse,
 * records into the store, report.html). The files are built first and not timed. Prints figures;
 * there is no target yet. Run: npm run bench:import [-- REQUESTS]
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseImport } from '../src/core/import/parse-import.js'
import type { ImportFormat } from '../src/core/import/imported-run.js'
import { runCli } from '../testkit/cli.js'

const requests = Number(process.argv[2] ?? 20_000)
const chunksPerRequest = 64
const startMs = Date.UTC(2026, 11, 5, 12, 0, 0)
const dir = mkdtempSync(join(tmpdir(), 'tw-import-bench-'))

function genaiPerf(): string {
  const sse = (content: string): { response: string } => ({ response: `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"${content}"},"finish_reason":null}]}\n\n` })
  const reqs = Array.from({ length: requests }, (_, i) => {
    const sent = (startMs + i * 10) * 1e6
    return {
      timestamp: sent,
      request_inputs: { payload: '{"messages":[{"role":"user","content":"hi"}],"model":"m","stream":true}' },
      response_timestamps: Array.from({ length: chunksPerRequest }, (_, k) => sent + (50 + k * 10) * 1e6),
      response_outputs: Array.from({ length: chunksPerRequest }, (_, k) => sse(` w${k}`)),
    }
  })
  return JSON.stringify({ service_kind: 'openai', endpoint: 'v1/chat/completions', experiments: [{ experiment: { mode: 'concurrency', value: 256 }, requests: reqs }], version: '2.59.0' })
}

function aiperf(): string {
  const lines: string[] = []
  for (let i = 0; i < requests; i++) {
    const s = (startMs + i * 10) * 1e6
    lines.push(
      JSON.stringify({
        metadata: { session_num: i, x_request_id: `r${i}`, request_start_ns: s, request_end_ns: s + 700e6, benchmark_phase: 'profiling', was_cancelled: false },
        metrics: { input_sequence_length: { value: 100, unit: 'tokens' }, time_to_first_token: { value: 50, unit: 'ms' }, request_latency: { value: 700, unit: 'ms' }, output_sequence_length: { value: chunksPerRequest, unit: 'tokens' } },
        error: null,
      }),
    )
  }
  return `${lines.join('\n')}\n`
}

const files: [ImportFormat, string, string][] = [
  ['genai-perf', 'profile_export.json', genaiPerf()],
  ['aiperf', 'profile_export.jsonl', aiperf()],
]
const log = ['timestamp,power_w']
for (let t = startMs - 5000; t <= startMs + requests * 10 + 5000; t += 1000) log.push(`${t / 1000},700`)
writeFileSync(join(dir, 'power.csv'), `${log.join('\n')}\n`)
for (const [, name, text] of files) writeFileSync(join(dir, name), text)

process.stdout.write(`${requests} requests, ${chunksPerRequest} content chunks each\n`)
for (const [format, name, text] of files) {
  const t0 = performance.now()
  const runs = parseImport(format, text, { fileName: name })
  const parseS = (performance.now() - t0) / 1000
  const t1 = performance.now()
  const r = await runCli(['import', format, name, '--power', 'power.csv', '--json', '--out', join(dir, 'out'), '--store', join(dir, `${format}.db`)], { cwd: dir })
  const totalS = (performance.now() - t1) / 1000
  if (r.code !== 0) throw new Error(r.stderr)
  const mb = statSync(join(dir, name)).size / 1e6
  process.stdout.write(`${format.padEnd(11)} ${mb.toFixed(1).padStart(6)} MB  parse ${parseS.toFixed(2).padStart(5)} s (${runs[0]?.records.length ?? 0} records)  whole import ${totalS.toFixed(2).padStart(5)} s\n`)
}
rmSync(dir, { recursive: true, force: true })
