// npm run bench:engine -- [--sizes tiny,small,medium,large] [--quants f16,q8_0] [--reps 3] [--llama-server] [--json]
//
// The embedded engine's speed on this machine, one thread:
//   gen      model generation time (into a temp dir, so it is measured every run)
//   load     node-llama-cpp model load + context creation, in process
//   prefill  prompt tokens/s (128-token prompt, time to first token), raw node-llama-cpp
//   decode   ms/token on one sequence, raw node-llama-cpp (the engine's own rate)
//   start    startLocalEngine() → /health OK (child process spawn + load), for the node engine
//   served   decode tok/s that tokenwatt's own client (OpenAIStreamClient) measures at 1 stream through
//            the HTTP server, and the overhead vs raw: 1 − served/raw (target < 10 %); `engine-side` is the
//            rate the server itself saw (its /metrics), separating server work from client/transport
//   llama-server (with --llama-server, when built): start time and client-measured decode at 1 and 4 streams
// Raw and served runs alternate per repetition so background load hits both alike; figures are medians.
// `busy other` is the CPU (in cores) used by processes other than this bench and its engine during the
// raw/served runs: a noise indicator for a shared machine.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { LlamaLogLevel, getLlama, type Token } from 'node-llama-cpp'
import { NodeClock } from '../src/adapters/clock/node-clock.js'
import { OpenAIStreamClient } from '../src/adapters/endpoints/openai-client.js'
import type { RequestRecord } from '../src/core/records.js'
import { defaultCacheDir, ensureModelFile, findLlamaServer, startLocalEngine, type ModelQuant, type ModelSize } from '../src/engines/local/index.js'

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: 'tiny,small,medium,large' },
    quants: { type: 'string', default: 'f16' },
    reps: { type: 'string', default: '3' },
    'llama-server': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
})
const sizes = values.sizes.split(',') as ModelSize[]
const quants = values.quants.split(',') as ModelQuant[]
const reps = Number(values.reps)
const SAMPLING = { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05 }
const DECODE_TOKENS: Record<ModelSize, number> = { tiny: 512, small: 256, medium: 96, large: 64 }
const PROMPT = 'the quick brown fox jumps over the lazy dog while the cat sleeps by the warm fire and the rain falls outside on the old roof '.slice(0, 128)

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2
}

async function cpuTimes(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? ''
  const f = line.trim().split(/\s+/).slice(1).map(Number)
  const idle = (f[3] ?? 0) + (f[4] ?? 0)
  const total = f.reduce((a, b) => a + b, 0)
  return { busy: total - idle, total }
}
async function selfCpuTicks(): Promise<number> {
  const u = process.cpuUsage()
  return ((u.user + u.system) / 1e6) * 100 // USER_HZ = 100
}
/** utime + stime of another process, in USER_HZ ticks (0 when it is gone). */
async function pidCpuTicks(pid: number | null): Promise<number> {
  if (pid === null) return 0
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(f[11] ?? 0) + Number(f[12] ?? 0)
}

/** Decode rate the client saw: tokens after the first over the time from first to last chunk. */
function clientDecode(r: RequestRecord): { tokPerS: number; ttftMs: number } {
  const first = r.chunkAtNs[0] ?? NaN
  const last = r.chunkAtNs.at(-1) ?? NaN
  const tokens = r.chunkTokens.reduce((a, b) => a + b, 0)
  return { tokPerS: ((tokens - 1) * 1e9) / (last - first), ttftMs: (first - r.sentAtNs) / 1e6 }
}

async function engineCounters(rootUrl: string): Promise<{ tokens: number; seconds: number }> {
  const text = await (await fetch(`${rootUrl}/metrics`)).text()
  const get = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN)
  return { tokens: get('llamacpp:tokens_predicted_total'), seconds: get('llamacpp:tokens_predicted_seconds_total') }
}

async function streamOnce(client: OpenAIStreamClient, seq: number, maxTokens: number): Promise<RequestRecord> {
  let r = await client.send({ seq, phase: 'measure', userId: 0, scheduledAtNs: null, text: PROMPT, messages: null, maxTokens, targetInputTokens: null })
  // Upstream llama-server closes the socket after each streamed response without `Connection: close`;
  // a request sent on that socket dies before any response byte and was never processed: resend it.
  for (let retry = 0; retry < 3 && r.error?.kind === 'stream_cut' && r.headersAtNs === null; retry++) {
    r = await client.send({ seq, phase: 'measure', userId: 0, scheduledAtNs: null, text: PROMPT, messages: null, maxTokens, targetInputTokens: null })
  }
  if (r.error) throw new Error(`request failed: ${r.error.kind} ${r.error.message}`)
  if (r.outputTokens !== maxTokens) throw new Error(`expected ${maxTokens} tokens, got ${r.outputTokens}`)
  return r
}

interface Row {
  size: ModelSize
  quant: ModelQuant
  paramsM: number
  fileMB: number
  genS: number
  loadMs: number
  prefillTokPerS: number
  decodeMsPerTok: number
  rawTokPerS: number
  startS: number
  servedTokPerS: number
  servedTtftMs: number
  engineSideTokPerS: number
  overheadPct: number
  busyOtherCores: number
  llamaServer?: { startS: number; tokPerS1: number; aggTokPerS4: number }
}

async function benchOne(size: ModelSize, quant: ModelQuant, llamaServer: boolean): Promise<Row> {
  const tmp = await mkdtemp(join(tmpdir(), 'tw-engine-bench-'))
  try {
    const model = await ensureModelFile({ size, quant, cacheDir: tmp })
    const llama = await getLlama({ gpu: false, build: 'never', maxThreads: 1, logLevel: LlamaLogLevel.error })
    const loadStart = performance.now()
    const lm = await llama.loadModel({ modelPath: model.path, gpuLayers: 0 })
    const ctx = await lm.createContext({ contextSize: 1024, sequences: 1, threads: 1, batchSize: 512 })
    const loadMs = performance.now() - loadStart
    const seq = ctx.getSequence()
    const promptTokens = [lm.tokens.bos as Token, ...lm.tokenize(PROMPT)]
    const n = DECODE_TOKENS[size]

    const engineStart = performance.now()
    const engine = await startLocalEngine({ size, quant, cacheDir: tmp, parallel: 1, ctx: 1024 })
    const startS = (performance.now() - engineStart) / 1000
    const client = new OpenAIStreamClient({ baseUrl: engine.baseUrl, model: engine.model, api: 'completions', clock: new NodeClock() })
    await client.preflight()
    await streamOnce(client, 0, 8) // warm-up

    const prefill: number[] = []
    const rawMs: number[] = []
    const served: number[] = []
    const ttft: number[] = []
    const cpu0 = await cpuTimes()
    const self0 = (await selfCpuTicks()) + (await pidCpuTicks(engine.pid))
    const metrics0 = await engineCounters(engine.rootUrl)
    for (let rep = 0; rep < reps; rep++) {
      await seq.clearHistory()
      const t0 = performance.now()
      let first = 0
      let count = 0
      for await (const _t of seq.evaluate(promptTokens, { ...SAMPLING, seed: rep + 1, yieldEogToken: true })) {
        count += 1
        if (count === 1) first = performance.now()
        if (count >= n) break
      }
      const end = performance.now()
      prefill.push((promptTokens.length * 1000) / (first - t0))
      rawMs.push((end - first) / (n - 1))
      const r = clientDecode(await streamOnce(client, rep + 1, n))
      served.push(r.tokPerS)
      ttft.push(r.ttftMs)
    }
    const cpu1 = await cpuTimes()
    const self1 = (await selfCpuTicks()) + (await pidCpuTicks(engine.pid))
    const metrics1 = await engineCounters(engine.rootUrl)
    // The engine's own view (first to last token inside the server process), from its /metrics.
    const engineTokPerS = (metrics1.tokens - metrics0.tokens - reps) / (metrics1.seconds - metrics0.seconds)
    await client.close()
    await engine.stop()

    let ls: Row['llamaServer']
    if (llamaServer && (await findLlamaServer(defaultCacheDir()))) {
      const t = performance.now()
      // The built binary lives in the default cache, so the model is generated (once) there too.
      const server = await startLocalEngine({ engine: 'llama-server', size, quant, parallel: 4, ctx: 1024 })
      const lsStartS = (performance.now() - t) / 1000
      const c = new OpenAIStreamClient({ baseUrl: server.baseUrl, model: server.model, api: 'completions', clock: new NodeClock() })
      await c.preflight()
      await streamOnce(c, 0, 8)
      const one: number[] = []
      const four: number[] = []
      for (let rep = 0; rep < reps; rep++) {
        one.push(clientDecode(await streamOnce(c, 1, n)).tokPerS)
        const t4 = performance.now()
        const rs = await Promise.all([0, 1, 2, 3].map((i) => streamOnce(c, 10 + i, n)))
        four.push((rs.length * n * 1000) / (performance.now() - t4))
      }
      await c.close()
      await server.stop()
      ls = { startS: lsStartS, tokPerS1: median(one), aggTokPerS4: median(four) }
    }
    await ctx.dispose()
    await lm.dispose()
    await llama.dispose()

    const raw = 1000 / median(rawMs)
    const otherBusy = (cpu1.busy - cpu0.busy - (self1 - self0)) / (cpu1.total - cpu0.total)
    return {
      size,
      quant,
      paramsM: model.parameters / 1e6,
      fileMB: model.fileBytes / 1e6,
      genS: model.generateMs / 1000,
      loadMs,
      prefillTokPerS: median(prefill),
      decodeMsPerTok: median(rawMs),
      rawTokPerS: raw,
      startS,
      servedTokPerS: median(served),
      servedTtftMs: median(ttft),
      engineSideTokPerS: engineTokPerS,
      overheadPct: (1 - median(served) / raw) * 100,
      busyOtherCores: otherBusy * 2,
      ...(ls ? { llamaServer: ls } : {}),
    }
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

const rows: Row[] = []
for (const size of sizes) for (const quant of quants) {
  const row = await benchOne(size, quant, values['llama-server'])
  rows.push(row)
  if (!values.json) {
    const f = (x: number, d = 1): string => x.toFixed(d)
    process.stdout.write(
      `${`${size} ${quant}`.padEnd(12)} ${f(row.paramsM)}M params, ${f(row.fileMB)} MB: gen ${f(row.genS, 2)} s | load ${f(row.loadMs, 0)} ms | ` +
        `prefill ${f(row.prefillTokPerS, 0)} tok/s | decode ${f(row.decodeMsPerTok, 2)} ms/tok (${f(row.rawTokPerS, 0)} tok/s raw) | ` +
        `start ${f(row.startS, 2)} s | served 1 stream ${f(row.servedTokPerS, 0)} tok/s (TTFT ${f(row.servedTtftMs, 0)} ms; engine-side ${f(row.engineSideTokPerS, 0)} tok/s), overhead ${f(row.overheadPct)} % | busy other ${f(row.busyOtherCores, 2)} cores` +
        (row.llamaServer ? ` | llama-server: start ${f(row.llamaServer.startS, 2)} s, 1 stream ${f(row.llamaServer.tokPerS1, 0)} tok/s, 4 streams ${f(row.llamaServer.aggTokPerS4, 0)} tok/s` : '') +
        '\n',
    )
  }
}
if (values.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
