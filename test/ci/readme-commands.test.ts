// Issue 13.0: the README's test command must pass on a fresh clone by itself, and CI must run exactly
// it (after installing system packages), not a preparation step of its own that users never run.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

const root = join(import.meta.dirname, '..', '..')
const read = (p: string): string => readFileSync(join(root, p), 'utf8')

test('.ci/run runs npm ci and then the README quick start\'s test command, and no tokenwatt step of its own', () => {
  const quick = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(read('README.md'))?.[1] ?? ''
  const commands = quick.split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean)
  assert.deepEqual(commands, ['npm ci', 'npx tokenwatt demo', 'npm run check'])
  const ci = read('.ci/run').split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean)
  const npmLines = ci.filter((l) => /\b(npm|npx|tokenwatt)\b/.test(l))
  assert.deepEqual(npmLines, ['npm ci --no-audit --no-fund', 'npm run check'])
})

test('npm test finds or builds llama-server itself (pretest) before the end-to-end test needs it', () => {
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> }
  assert.match(pkg.scripts.check ?? '', /npm test$/)
  assert.equal(pkg.scripts.pretest, 'tsx scripts/ensure-engine.ts')
  assert.match(read('scripts/ensure-engine.ts'), /buildLlamaServer\(/)
})
