// Runs every *.test.ts under test/ with node:test through tsx. Node 20's --test takes no globs of its
// own, so the file list is built here. Extra arguments (file paths or --test-name-pattern) pass through.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

function collect(dir) {
  const out = []
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...collect(p))
    else if (name.endsWith('.test.ts')) out.push(p)
  }
  return out
}
const args = process.argv.slice(2)
const files = args.some((a) => a.endsWith('.ts')) ? [] : collect('test')
const res = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=120000', ...args, ...files],
  { stdio: 'inherit' },
)
process.exit(res.status ?? 1)
