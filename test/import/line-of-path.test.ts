import assert from 'node:assert/strict'
import { test } from 'node:test'
import { lineOfPath, located } from '../../src/core/import/imported-run.js'

const text = JSON.stringify({ a: 1, b: [{ c: 'x"y:' }, { c: 2, d: [true, null] }], e: { f: -1.5e3, 'g h': [] } }, null, 2)

test('lineOfPath finds the line where the value at a path starts', () => {
  // line numbers read off the pretty-printed text by hand
  const cases: [(string | number)[], number | null][] = [
    [[], 1],
    [['a'], 2],
    [['b'], 3],
    [['b', 0, 'c'], 5],
    [['b', 1], 7],
    [['b', 1, 'c'], 8],
    [['b', 1, 'd', 1], 11],
    [['e', 'f'], 16],
    [['e', 'g h'], 17],
    [['b', 2], null],
    [['zz'], null],
  ]
  for (const [path, line] of cases) assert.equal(lineOfPath(text, path), line, JSON.stringify(path))
})

test('located names the path, at the nearest line that exists', () => {
  assert.equal(located(text, 'r.json', ['b', 1, 'd', 1]), 'r.json:11: b[1].d[1]')
  assert.equal(located(text, 'r.json', ['b', 1, 'missing']), 'r.json:7: b[1].missing')
  assert.equal(located('{}', 'r.json', ['x']), 'r.json:1: x')
})
