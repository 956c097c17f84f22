import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { OpenAIStreamClient } from '../../src/adapters/endpoints/openai-client.js'
import type { CliHost } from '../../src/cli/host.js'
import { main } from '../../src/cli/main.js'
import { ExitCode } from '../../src/core/errors.js'

function host(cwd: string, signal: AbortSignal): CliHost & { out: string[]; err: string[] } {
  const out: string[] = []
  const err: string[] = []
  return {
    env: {},
    cwd,
    stdout: { write: (t) => void out.push(t), isTTY: false },
    stderr: { write: (t) => void err.push(t), isTTY: false },
    signal,
    out,
    err,
  }
}

async function until<T>(what: string, get: () => T | null, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = get()
    if (v !== null) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

test('tokenwatt mock-server: flags and a YAML file configure it, it serves until the run signal aborts, ground truth goes to a file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-mock-cli-'))
  try {
    writeFileSync(join(dir, 'mock.yaml'), 'models: [yaml-model]\nitlMs: 2\nfaults:\n  rateLimit:\n    every: 2\n')
    const controller = new AbortController()
    const h = host(dir, controller.signal)
    const running = main(['mock-server', '-c', 'mock.yaml', '--port', '0', '--ttft-ms', '5', '--tokens-per-chunk', '2', '--ground-truth', 'truth.jsonl'], h)
    const url = await until('the URL', () => /listening on (http:\/\/\S+\/v1)/.exec(h.out.join(''))?.[1] ?? null)
    const text = h.out.join('')
    assert.match(text, /models: yaml-model; TTFT 5 ms, ITL 2 ms, 2 token\(s\)\/chunk/)
    assert.match(text, /faults: 429 every 2nd request/)
    assert.match(text, /ground truth: .*truth\.jsonl/)

    const client = new OpenAIStreamClient({ baseUrl: url, model: 'yaml-model' })
    const first = await client.send({ seq: 1, phase: 'measure', userId: 0, scheduledAtNs: null, text: 'hi', messages: null, maxTokens: 6, targetInputTokens: null })
    const second = await client.send({ seq: 2, phase: 'measure', userId: 0, scheduledAtNs: null, text: 'hi', messages: null, maxTokens: 6, targetInputTokens: null })
    await client.close()
    assert.equal(first.error, null)
    assert.equal(first.chunkAtNs.length, 3)
    assert.equal(second.error?.kind, 'rate_limited')

    controller.abort()
    assert.equal(await running, ExitCode.Ok)
    assert.match(h.out.join(''), /mock server stopped after 2 request\(s\)/)
    const lines = readFileSync(join(dir, 'truth.jsonl'), 'utf8').trim().split('\n')
    assert.equal(lines.length, 2)
    assert.equal((JSON.parse(lines[1] ?? '{}') as { status: number }).status, 429)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('tokenwatt mock-server: a bad value is one line naming the flag, with a usage exit code', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-mock-cli-'))
  try {
    const bad = host(dir, AbortSignal.abort())
    assert.equal(await main(['mock-server', '--port', '0', '--fault-stall-prob', '1.5'], bad), ExitCode.Usage)
    assert.match(bad.err.join(''), /mock-server: --fault-stall-prob: .*(<=|1)/)
    const typo = host(dir, AbortSignal.abort())
    writeFileSync(join(dir, 'typo.yaml'), 'itlMS: 3\n')
    assert.equal(await main(['mock-server', '-c', 'typo.yaml'], typo), ExitCode.Usage)
    assert.match(typo.err.join(''), /unknown key itlMS/)
    const notNumber = host(dir, AbortSignal.abort())
    assert.equal(await main(['mock-server', '--itl-ms', 'fast'], notNumber), ExitCode.Usage)
    assert.match(notNumber.err.join(''), /--itl-ms/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
