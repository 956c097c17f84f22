// `tokenwatt serve-local` and `tokenwatt engine` run in-process through main(), the way a user runs them.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { main } from '../../src/cli/main.js'
import type { CliHost } from '../../src/cli/host.js'
import { stream, waitFor } from './sse-client.js'

let dir = ''
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tw-serve-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

function host(signal: AbortSignal): { host: CliHost; out: () => string; err: () => string } {
  let stdout = ''
  let stderr = ''
  return {
    host: {
      env: { HOME: dir },
      cwd: dir,
      stdout: { write: (t) => void (stdout += t), isTTY: false },
      stderr: { write: (t) => void (stderr += t), isTTY: false },
      signal,
    },
    out: () => stdout,
    err: () => stderr,
  }
}

test('serve-local serves until Ctrl-C, then stops and exits 0', async () => {
  const ac = new AbortController()
  const h = host(ac.signal)
  const exit = main(['serve-local', '--size', 'tiny', '--port', '0', '--parallel', '2', '--ctx', '512'], h.host)
  await waitFor(async () => /OpenAI API {2}(\S+)/.test(h.out()), 60_000, 'the ready banner')
  const baseUrl = /OpenAI API {2}(\S+)/.exec(h.out())?.[1] ?? ''
  assert.match(h.out(), /serving tokenwatt-tiny-f16 \(3\.3M params, F16, seed 1\)/)
  assert.match(h.out(), /2 sequences × 512 tokens, 1 thread/)
  assert.match(h.err(), /generating tokenwatt-tiny-f16 .* into .*\.cache\/tokenwatt\/models/, 'the default cache is under $HOME/.cache')
  const r = await stream(`${baseUrl}/chat/completions`, { messages: [{ role: 'user', content: 'hi' }], max_tokens: 20, stream_options: { include_usage: true } })
  assert.equal(r.usage?.completion_tokens, 20)
  ac.abort()
  assert.equal(await exit, 0)
  assert.match(h.err(), /serve-local: stopped/)
  await assert.rejects(fetch(`${baseUrl}/models`), 'the port is closed after stop')
})

test('serve-local rejects bad flags and an unbuilt llama-server with a hint', async () => {
  const h = host(new AbortController().signal)
  assert.equal(await main(['serve-local', '--size', 'huge'], h.host), 2)
  assert.match(h.err(), /expected one of tiny, small, medium, large/)
  const h2 = host(new AbortController().signal)
  assert.equal(await main(['serve-local', '--engine', 'llama-server', '--cache-dir', join(dir, 'empty')], h2.host), 2)
  assert.match(h2.err(), /llama-server has not been built/)
  assert.match(h2.err(), /hint: run `tokenwatt engine build`/)
})

test('engine model prints the cached model path; engine status reports the cache', async () => {
  const h = host(new AbortController().signal)
  assert.equal(await main(['engine', 'model', '--size', 'tiny', '--quant', 'q8_0', '--cache-dir', join(dir, 'c')], h.host), 0)
  assert.match(h.out(), new RegExp(`^${join(dir, 'c', 'models')}/tokenwatt-tiny-q8_0-[0-9a-f]{16}\\.gguf\\n$`))
  const h2 = host(new AbortController().signal)
  assert.equal(await main(['engine', 'status', '--cache-dir', join(dir, 'c')], h2.host), 0)
  assert.match(h2.out(), /llama-server {2}not built/)
})
