import assert from 'node:assert/strict'
import { execFile, execFileSync, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { startMockServer } from '../../src/engines/mock/index.js'

const execFileAsync = promisify(execFile)
const root = join(import.meta.dirname, '../..')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

function run(cmd: string, args: readonly string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' } })
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

// The package as users get it (issue 13.5): `npm pack`, installed into an empty folder, then the
// installed bin runs `--version` and a short bench against the mock. better-sqlite3 is not compiled
// again (minutes on 2 cores): its build of the same locked version is copied from this checkout;
// optional packages are omitted (node-llama-cpp's engine prebuilds, hundreds of MB: the bench drives an endpoint).
// `npm pack` runs in a copy of the checkout (its node_modules linked): its prepack and postpack rewrite
// package.json, and a test run cut short must not leave the checkout's manifest stripped.
test('npm pack installs into an empty folder and its bin benchmarks the mock', { timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatt-pack-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const source = join(dir, 'source')
  const skipped = new Set(['node_modules', '.git', 'dist', '.cache', 'tokenwatt-runs', 'tmp', 'package.json.prepack'])
  cpSync(root, source, { recursive: true, filter: (from) => from === root || !skipped.has(from.slice(root.length + 1).split('/')[0] ?? '') })
  symlinkSync(join(root, 'node_modules'), join(source, 'node_modules'), 'dir')
  const tarball = run(npm, ['pack', '--silent', '--pack-destination', dir], source).trim().split('\n').pop() ?? ''
  const tgz = join(dir, tarball)
  assert.ok(existsSync(tgz), tarball)
  const manifest = JSON.parse(execFileSync('tar', ['-xOzf', tgz, 'package/package.json'], { encoding: 'utf8' })) as Record<string, unknown>
  assert.ok(!JSON.stringify(manifest).includes('file:'), 'no file: dependency is published')
  assert.equal(readFileSync(join(source, 'package.json'), 'utf8'), readFileSync(join(root, 'package.json'), 'utf8'), 'postpack put the manifest back, stubs and all')
  const app = join(dir, 'app')
  mkdirSync(app)
  writeFileSync(join(app, 'package.json'), '{ "private": true }\n')
  run(npm, ['install', '--prefer-offline', '--ignore-scripts', '--omit=optional', '--no-audit', '--no-fund', tgz], app)
  const ours = (p: string): string => (JSON.parse(readFileSync(join(p, 'package.json'), 'utf8')) as { version: string }).version
  assert.equal(ours(join(app, 'node_modules/better-sqlite3')), ours(join(root, 'node_modules/better-sqlite3')))
  cpSync(join(root, 'node_modules/better-sqlite3/build'), join(app, 'node_modules/better-sqlite3/build'), { recursive: true })
  // koffi's native module is an optional package per platform (omitted above): the checkout's, same version
  const koffiNative = `@koromix/koffi-${process.platform}-${process.arch}`
  if (existsSync(join(root, 'node_modules', koffiNative))) cpSync(join(root, 'node_modules', koffiNative), join(app, 'node_modules', koffiNative), { recursive: true })
  const bin = join(app, 'node_modules/.bin/tokenwatt')
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
  assert.equal(run(bin, ['--version'], app).trim(), version.version)
  const mock = await startMockServer({ port: 0, ttftMs: 5, itlMs: 2 })
  try {
    // asynchronously: the mock serves from this process's event loop
    const r = await execFileAsync(bin, ['bench', '--endpoint', mock.baseUrl, '--requests', '5', '--output-tokens', '8', '--store', join(dir, 'db.sqlite'), '--out', join(dir, 'out'), '--no-progress'], { cwd: app, encoding: 'utf8' })
    assert.match(r.stdout, /summary: .*summary\.json/)
    assert.doesNotMatch(r.stderr, /Warning|Error/)
  } finally {
    await mock.close()
  }
})
