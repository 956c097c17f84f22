// Energy by phase end to end: `tokenwatt bench` against the mock engine over real HTTP/SSE, whose power
// trace draws a documented prefill W per request in prefill and decode W per request in decode, read
// by the mock meter over HTTP. The attribution must recover the known J per input token and per decode
// token within 5 % on workloads of different input/output mixes, with an interval that covers the truth;
// a workload the fit cannot separate falls back to a declared split and says so.
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { PhaseFigure, PhasesSection } from '../../src/core/analysis/energy/phase-attribution.js'
import type { RunSummary } from '../../src/core/summary.js'
import { RunSummarySchema } from '../../src/core/summary-schema.js'
import { startMockServer, type MockServer } from '../../src/engines/mock/index.js'
import { runCli } from '../../testkit/cli.js'

const PREFILL_W = 60
const DECODE_W = 10
const ITL_MS = 8
let dir: string
let mock: MockServer

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tw-phase-'))
  mock = await startMockServer({ port: 0, ttftMs: 10, prefillMsPerToken: 0.5, itlMs: ITL_MS, power: { idleW: 100, perStreamW: 0, prefillW: PREFILL_W, decodeW: DECODE_W, maxW: 100_000 } })
})
after(async () => {
  await mock.close()
})

type Phased = RunSummary & { efficiency: { joulesPerInputToken?: PhaseFigure; joulesPerOutputTokenDecode?: PhaseFigure; phases?: PhasesSection } }

const ONE_METER = '[{ kind: mock, periodMs: 40 }]'

async function bench(name: string, input: number, output: number, extra: string[], meters = ONE_METER): Promise<Phased> {
  const cfg = join(dir, `${name}.yaml`)
  writeFileSync(cfg, `meters: ${meters}\nboundary: device\n`)
  const before = mock.groundTruth().length
  const r = await runCli(
    ['bench', '-c', cfg, '--endpoint', mock.baseUrl, '--concurrency', '4', '--duration', '6', '--input-tokens', String(input), '--output-tokens', String(output), '--tokenizer', 'server', '--json', '--no-progress', '--store', join(dir, 'db.sqlite'), '--out', join(dir, 'out'), ...extra],
    { cwd: dir },
  )
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout) as Phased
  assert.equal(RunSummarySchema.safeParse(s).success, true, JSON.stringify(RunSummarySchema.safeParse(s).error?.issues))
  // the server's own prefill time per request (receipt → first content) and prompt tokens: the truth's inputs
  const gt = mock.groundTruth().slice(before).filter((g) => g.maxTokens === output && g.chunks.some((c) => c.kind === 'content'))
  const prefillS = gt.reduce((t, g) => t + ((g.chunks.find((c) => c.kind === 'content')?.atNs ?? 0) - g.receivedAtNs) / 1e9, 0) / gt.length
  const promptTokens = gt.reduce((t, g) => t + g.promptTokens, 0) / gt.length
  truth.set(name, { inputJ: (PREFILL_W * prefillS) / promptTokens, decodeJ: (DECODE_W * ITL_MS) / 1000 })
  return s
}
const truth = new Map<string, { inputJ: number; decodeJ: number }>()

function checkFigure(f: PhaseFigure | undefined, expected: number, what: string): void {
  assert.ok(f && f.dynamic !== null && f.dynamicInterval, `${what}: a figure with an interval`)
  const err = Math.abs(f.dynamic - expected) / expected
  // TW_PRINT_PHASES=1 prints each figure against its truth (for the figures quoted in notes)
  if (process.env.TW_PRINT_PHASES) console.log(`${what}: ${f.dynamic.toPrecision(4)} J vs truth ${expected.toPrecision(4)} J (${(err * 100).toFixed(2)} %), interval ${f.dynamicInterval.low.toPrecision(4)}–${f.dynamicInterval.high.toPrecision(4)}`)
  assert.ok(err < 0.05, `${what}: ${f.dynamic} vs truth ${expected} (${(err * 100).toFixed(1)} %)`)
  // The truth is the server's own prefill/decode time; the client sees each phase edge a transit later,
  // a bias of about 1 % here, which a 95 % interval from the fit need not hold: 2 % of slack for it.
  const slack = 0.02 * f.dynamic
  assert.ok(f.dynamicInterval.low - slack <= expected && expected <= f.dynamicInterval.high + slack, `${what}: interval ${JSON.stringify(f.dynamicInterval)} misses ${expected}`)
  assert.ok(f.total !== null && f.total > f.dynamic, `${what}: the total carries a share of idle`)
}

for (const [name, input, output] of [
  ['input-heavy', 300, 24],
  ['output-heavy', 60, 96],
] as const) {
  test(`${name} (${input} in / ${output} out): J per input token and per decode token recovered within 5 %`, async () => {
    // The client's stamps of each phase edge carry the machine's scheduling delays; with other test
    // files on the same 2 cores one run now and then meets a long one, so a failed check is run once more
    // (as the trace-replay timing test does), and the second must pass.
    for (let attempt = 0; ; attempt++) {
      try {
        await checkWorkload(name, input, output)
        return
      } catch (e) {
        if (attempt >= 1) throw e
      }
    }
  })
}

async function checkWorkload(name: string, input: number, output: number): Promise<void> {
  const s = await bench(name, input, output, ['--idle-s', '1'])
  const t = truth.get(name)
  assert.ok(t)
  const e = s.efficiency
  assert.equal(e.phases?.method, 'fit', e.phases?.reason ?? '')
  assert.equal(e.phases.modelled, false)
  assert.equal(e.phases.idleSource, 'idle window')
  checkFigure(e.joulesPerInputToken, t.inputJ, 'J per input token')
  checkFigure(e.joulesPerOutputTokenDecode, t.decodeJ, 'J per decode token')
  // the phases' totals are the window's energy at the boundary, exactly
  const sum = e.phases.prefillEnergyJ.total + e.phases.decodeEnergyJ.total
  assert.ok(Math.abs(sum - (s.power?.energyJ as number)) < 1e-6 * sum, `${sum} vs ${s.power?.energyJ}`)
  // the fitted watts per request are the mock's (client-side phases are a hair longer than the server's)
  assert.ok(Math.abs(e.phases.prefillWPerRequest - PREFILL_W) / PREFILL_W < 0.08, `prefill W ${e.phases.prefillWPerRequest}`)
  assert.ok(Math.abs(e.phases.decodeWPerRequest - DECODE_W) / DECODE_W < 0.08, `decode W ${e.phases.decodeWPerRequest}`)
}

test('without an idle baseline a closed loop cannot separate the phases: a declared split, labelled modelled', async () => {
  const s = await bench('no-idle', 300, 24, [])
  const p = s.efficiency.phases
  assert.ok(p)
  assert.equal(p.method, 'time-share')
  assert.equal(p.modelled, true)
  assert.match(p.reason ?? '', /idle baseline/)
  assert.equal(s.efficiency.joulesPerInputToken?.dynamicInterval, null)
  assert.ok(s.warnings.some((w) => /energy by phase is modelled, not measured/.test(w)))
})

test('the report shows energy by phase, and --price-sheet the prices that recover the cost beside yours', async () => {
  const s = await bench('priced', 300, 24, ['--idle-s', '1', '--preset', 'h100', '--accelerators', '1', '--usd-per-kwh', '0.1'])
  assert.ok(s.efficiency.phases && !s.efficiency.phases.modelled)
  const store = ['--store', join(dir, 'db.sqlite')]
  const sheet = await runCli(['report', s.id, '--price-sheet', '--price-input', '0.5', '--price-output', '2', ...store], { cwd: dir })
  assert.equal(sheet.code, 0, sheet.stderr)
  assert.match(sheet.stdout, /Energy by phase/)
  assert.match(sheet.stdout, /Price sheet/)
  assert.match(sheet.stdout, /input price that covers cost/)
  assert.match(sheet.stdout, /margin/)
  const json = await runCli(['report', s.id, '--price-sheet', '--format', 'json', ...store], { cwd: dir })
  const tables = JSON.parse(json.stdout) as { id: string; rows: string[][] }[]
  assert.deepEqual(tables.map((t) => t.id), ['phases', 'price-sheet'])
  const md = await runCli(['report', s.id, '--format', 'md', ...store], { cwd: dir })
  assert.match(md.stdout, /Energy by phase/)
  assert.match(md.stdout, /Price sheet/)
  // a run without a cost model gets one line and a hint
  const none = await bench('unpriced', 300, 24, ['--idle-s', '1'])
  const r = await runCli(['report', none.id, '--price-sheet', ...store], { cwd: dir })
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, /^tokenwatt: this run has no complete cost model, so no price sheet\nhint: /)
})

test('disaggregated pools: meters labelled prefill and decode measure the phases directly, and add up', async () => {
  const pools = '[{ kind: mock, id: prefill-workers, pool: prefill, periodMs: 40 }, { kind: mock, id: decode-workers, pool: decode, periodMs: 40 }]'
  const s = await bench('pools', 300, 24, ['--idle-s', '1'], pools)
  const t = truth.get('pools')
  assert.ok(t)
  const e = s.efficiency
  assert.equal(e.phases?.method, 'pools')
  assert.equal(e.phases.modelled, false)
  for (const [f, expected, what] of [[e.joulesPerInputToken, t.inputJ, 'input'], [e.joulesPerOutputTokenDecode, t.decodeJ, 'decode']] as const) {
    assert.ok(f?.dynamic != null)
    assert.ok(Math.abs(f.dynamic - expected) / expected < 0.05, `${what}: ${f.dynamic} vs ${expected}`)
  }
  // the two pools are different equipment: the boundary's energy is their sum, not the better of two
  const sum = (s.power?.meters ?? []).reduce((x, m) => x + (m.energyJ ?? 0), 0)
  assert.ok(Math.abs((s.power?.energyJ as number) - sum) < 1e-6 * sum, `${s.power?.energyJ} vs ${sum}`)
})
