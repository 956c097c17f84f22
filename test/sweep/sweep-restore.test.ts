import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { choosePoint, type SweepResult } from '../../src/core/sweep/sweep-result.js'
import { runCli } from '../../testkit/cli.js'
import { spawnCli, sweepOf, useSimulatedNvmlGpu, waitFor } from '../../testkit/sweep.js'

// Restore is sacred: signals, kill -9 and resume, through the production NVML knob.
const sim = useSimulatedNvmlGpu()
const { skip, env, common, limitW } = sim

test('SIGKILL mid-point leaves the journal; the next tokenwatt command puts the cap back, and knobs restore says so', { skip }, async () => {
  const journal = join(sim.gpu.dir, 'journal-kill.json')
  const e = { ...env(), TOKENWATT_KNOB_JOURNAL: journal }
  const run = spawnCli(['sweep', ...common(), '--duration', '30', '--knob', 'gpu.power-limit-w=350,700'], e, sim.gpu.dir)
  await waitFor(() => limitW() === 350 && sim.gpu.mock.groundTruth().length > 5, 60_000, run.output)
  run.child.kill('SIGKILL')
  await run.exit
  assert.equal(limitW(), 350, 'killed with the cap changed')
  assert.match(readFileSync(journal, 'utf8'), /"original": 700/)
  const restore = await runCli(['knobs', 'restore'], { cwd: sim.gpu.dir, env: e })
  assert.equal(restore.code, 0, restore.stderr)
  assert.match(restore.stdout, /restored gpu\.power-limit-w@nvml:0 to 700 W \(changed by pid \d+/)
  assert.equal(limitW(), 700)
  const again = await runCli(['knobs', 'restore'], { cwd: sim.gpu.dir, env: e })
  assert.match(again.stdout, /nothing to restore/)

  // killed again: this time any command restores first
  const run2 = spawnCli(['sweep', ...common(), '--duration', '30', '--knob', 'gpu.power-limit-w=320,700'], e, sim.gpu.dir)
  await waitFor(() => limitW() === 320, 60_000, run2.output)
  run2.child.kill('SIGKILL')
  await run2.exit
  const list = await runCli(['runs', 'list', '--store', join(sim.gpu.dir, 'db.sqlite')], { cwd: sim.gpu.dir, env: e })
  assert.match(list.stderr, /tokenwatt: restored gpu\.power-limit-w@nvml:0 to 700 W/)
  assert.equal(limitW(), 700)
})

test('SIGTERM stops the sweep gracefully and restores the cap; exit 130', { skip }, async () => {
  const run = spawnCli(['sweep', ...common(), '--duration', '30', '--knob', 'gpu.power-limit-w=330,700'], env(), sim.gpu.dir)
  await waitFor(() => limitW() === 330 && sim.gpu.mock.groundTruth().length > 5, 60_000, run.output)
  run.child.kill('SIGTERM')
  const { code } = await run.exit
  assert.equal(code, 130, run.output())
  assert.equal(limitW(), 700, run.output())
  assert.ok(!readFileSync(join(sim.gpu.dir, 'journal.json'), 'utf8').includes('gpu.power-limit-w@nvml:0'), 'journal entry removed')
})

test('a sweep killed after two points resumes at the third and chooses over all four by the sweep rule', { skip }, async () => {
  const e = { ...env(), TOKENWATT_KNOB_JOURNAL: join(sim.gpu.dir, 'journal-resume.json') }
  const args = ['sweep', ...common(), '--duration', '1.5', '--knob', 'gpu.power-limit-w=400,550,700,330']
  const run = spawnCli(args, e, sim.gpu.dir)
  let sweepPath = ''
  await waitFor(
    () => {
      const out = join(sim.gpu.dir, 'out')
      for (const d of readdirSyncSafe(out).filter((x) => x.startsWith('sweep-'))) {
        const p = join(out, d, 'sweep.json')
        const s = existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as SweepResult) : null
        if (s && s.status === 'running' && s.points.length >= 2) sweepPath = p
      }
      return sweepPath !== ''
    },
    60_000,
    run.output,
  )
  run.child.kill('SIGKILL')
  await run.exit
  const partial = JSON.parse(readFileSync(sweepPath, 'utf8')) as SweepResult
  const done = partial.points.map((p) => p.runIds[0])
  const r = await runCli([...args, '--resume', partial.id], { cwd: sim.gpu.dir, env: e })
  assert.equal(r.code, 0, r.stderr + r.stdout)
  assert.match(r.stderr, /tokenwatt: restored gpu\.power-limit-w@nvml:0 to 700 W/, 'the killed run\'s cap came back first')
  const s = sweepOf(r.stdout)
  assert.equal(s.id, partial.id)
  assert.equal(s.points.length, 4)
  assert.deepEqual(s.points.slice(0, done.length).map((p) => p.runIds[0]), done, 'measured points are kept, not re-run')
  // The choice is made over all four points, the kept ones included, by the same rule a sweep that
  // was never killed applies. (Which cap wins depends on the machine's load: 400 W meets the 30 ms
  // TPOT on a quiet machine, 550 W when the cores are busy.)
  assert.ok(s.chosen, 'a point was chosen')
  assert.equal(s.chosen.key, choosePoint(s.points, { tpotMs: 30 })?.key)
  assert.equal(limitW(), 700)
})

function readdirSyncSafe(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

