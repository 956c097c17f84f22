// Issue 13.4: the config hint names docs/config.md; it must exist and cover every key a flag sets.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { z } from 'zod'
import { BENCH_FLAGS } from '../../src/cli/bench/bench-options.js'
import { BenchConfigSchema } from '../../src/core/config/bench-schema.js'
import { configRows } from '../../scripts/config-doc.js'

const root = join(import.meta.dirname, '..', '..')
const doc = readFileSync(join(root, 'docs', 'config.md'), 'utf8')
const rows = configRows(z.toJSONSchema(BenchConfigSchema, { io: 'input', unrepresentable: 'any' }) as Parameters<typeof configRows>[0])

test('docs/config.md documents every key a bench flag sets, with its type and an example', () => {
  const byPath = new Map(rows.map((r) => [r.path.replace(/ \([^)]*\)/g, ''), r]))
  for (const o of BENCH_FLAGS) {
    const row = byPath.get(o.path)
    assert.ok(row, `${o.flags} sets ${o.path}, which docs/config.md lacks`)
    assert.ok(doc.includes(`| \`${row.path}\``), o.path)
  }
  for (const r of rows) {
    assert.notEqual(r.type, '', r.path)
    assert.notEqual(r.example, '', r.path)
  }
})

test('every example in docs/config.md has the type its key documents', () => {
  for (const r of rows) {
    const example = JSON.parse(r.example.slice(1, -1).replace(/\\\|/g, '|')) as unknown
    if (r.type.startsWith('integer')) assert.ok(Number.isInteger(example) || typeof example === 'object', `${r.path}: ${r.example}`)
    if (r.type.startsWith('boolean')) assert.equal(typeof example, 'boolean', r.path)
    if (r.type.startsWith('string')) assert.equal(typeof example, 'string', r.path)
  }
})
