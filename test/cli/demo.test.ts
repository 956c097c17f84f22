import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { SweepResult } from '../../src/core/sweep/sweep-result.js'
import { runCli } from '../../testkit/cli.js'

test('demo: its user steps are a sweep with a frontier, a chosen point and an HTML report', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatt-demo-'))
  const r = await runCli(['demo', '--users', '1,2', '--step-duration', '2', '--size', 'tiny', '--store', join(dir, 'db.sqlite'), '--meter', 'estimate:10-40'], { cwd: dir, env: { ...process.env, HOME: dir } })
  assert.equal(r.code, 0, r.stderr + r.stdout)
  const html = /sweep of the steps \(frontier, J\/token by users\): (\S+)/.exec(r.stdout)?.[1]
  assert.ok(html && existsSync(html), r.stdout)
  const sweep = JSON.parse(readFileSync(join(html, '..', 'sweep.json'), 'utf8')) as SweepResult
  assert.deepEqual(sweep.points.map((p) => p.key), ['concurrency=1', 'concurrency=2'])
  assert.ok(sweep.frontier.length >= 1)
  assert.ok(sweep.chosen, 'a point is chosen')
  assert.match(r.stdout, /lowest energy per good token: concurrency=\d/)
  assert.match(readFileSync(html, 'utf8'), /Pareto frontier/)
  // a sweep stands for its chosen run wherever a run is taken
  const cmp = await runCli(['compare', join(html, '..'), 'latest', '--store', join(dir, 'db.sqlite')], { cwd: dir })
  assert.equal(cmp.code, 0, cmp.stderr)
})
