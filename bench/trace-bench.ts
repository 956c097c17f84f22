/**
 * Peak memory of streaming a large trace through the replay's pipeline: a generated Mooncake-format
 * trace (default 1,000,000 rows, 4–16 hash ids each) read by the streaming reader and each row placed
 * on the timeline, as the replay does; every 100th row is also turned into its real prompt (hash-id
 * text blocks of 512 tokens, ~5k tokens a prompt) and request, since building all 1M prompts (~5e9
 * tokens of text) takes CPU-minutes that say nothing about memory. Each mode runs in a child process so its peak RSS (getrusage maxrss) is its own:
 * `stream` is the replay's path; `whole-file` reads the file into memory first, for contrast.
 * Run: npm run bench:trace [-- ROWS]. HTTP is left out: a 1M-request replay against a server measures
 * the server, and the run keeps every RequestRecord it measured (as every run does).
 */
import { spawnSync } from 'node:child_process'
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { readTraceRows } from '../src/adapters/datasets/trace-file.js'
import { createTraceParser } from '../src/core/load/trace/trace-readers.js'
import { TracePrompts } from '../src/core/load/trace/trace-prompts.js'
import { TraceTimeline } from '../src/core/load/trace/trace-timeline.js'

const mode = process.argv[2]
if (mode === 'stream' || mode === 'whole-file') {
  const file = process.argv[3] as string
  const prompts = new TracePrompts(42, 512, { overheadTokens: 0, tokensPerWord: 1.3, source: 'estimate' }, true)
  const timeline = new TraceTimeline({ timeScale: 1, startOffsetS: 0 })
  const t0 = performance.now()
  let rows = 0
  let promptChars = 0
  const handle = (row: Parameters<TracePrompts['request']>[0]): void => {
    const at = timeline.place(row.timestampMs)
    if (typeof at !== 'number') return
    if (rows % 100 === 0) promptChars += prompts.request(row, rows, at, null).messages?.[0]?.content.length ?? 0
    rows++
  }
  if (mode === 'stream') {
    for await (const row of readTraceRows(file, 'mooncake')) handle(row)
  } else {
    const parser = createTraceParser('mooncake')
    const all = readFileSync(file, 'utf8').split('\n').flatMap((l, i) => parser.parseLine(l, i + 1))
    for (const row of all) handle(row)
  }
  const s = (performance.now() - t0) / 1000
  process.stdout.write(JSON.stringify({ mode, rows, seconds: s, promptChars, maxRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n')
  process.exit(0)
}

const rows = Number(process.argv[2] ?? 1_000_000)
const dir = mkdtempSync(join(tmpdir(), 'tw-trace-bench-'))
const file = join(dir, 'mooncake.jsonl')
try {
  const out = createWriteStream(file)
  let t = 0
  for (let i = 0; i < rows; i++) {
    t += Math.floor((i * 7919) % 97)
    const blocks = 4 + (i % 13)
    const hash = Array.from({ length: blocks }, (_, b) => (b < 3 ? b + (i % 5) * 3 : i * 16 + b))
    if (!out.write(`${JSON.stringify({ timestamp: t, input_length: blocks * 512 - 100, output_length: 1 + (i % 300), hash_ids: hash })}\n`)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  process.stdout.write(`trace: ${rows} rows, ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB (Mooncake JSONL)\n`)
  for (const m of ['stream', 'whole-file']) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, m, file], { encoding: 'utf8', maxBuffer: 1 << 20 })
    const line = r.stdout.trim().split('\n').pop() ?? ''
    if (r.status !== 0 || !line.startsWith('{')) {
      process.stdout.write(`${m}: failed (${r.status}) ${r.stderr.slice(-400)}\n`)
      continue
    }
    const x = JSON.parse(line) as { rows: number; seconds: number; promptChars: number; maxRssMiB: number }
    process.stdout.write(`${m.padEnd(11)} ${x.rows} rows in ${x.seconds.toFixed(1)} s (${(x.rows / x.seconds).toFixed(0)} rows/s, ${(x.promptChars / 2 ** 20).toFixed(0)} MiB of prompt text built for 1 row in 100), peak RSS ${x.maxRssMiB.toFixed(0)} MiB\n`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
