import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { defaultKnobJournalPath, KnobJournal, processAlive } from '../../src/adapters/knobs/knob-journal.js'

test('knob journal: the first original is kept, entries survive a new reader, removal empties it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tokenwatt-journal-'))
  try {
    const path = join(dir, 'state', 'knobs-journal.json')
    const j = new KnobJournal(path)
    assert.deepEqual(j.entries(), [])
    const e = { id: 'gpu.power-limit-w@nvml:0', name: 'gpu.power-limit-w', options: { device: '0' }, original: 300, unit: 'W', pid: process.pid, changedAt: new Date().toISOString() }
    j.record(e)
    // a second record for the same id (after a crash, say) must not replace the true original
    assert.equal(j.record({ ...e, original: 200 }).original, 300)
    assert.equal(new KnobJournal(path).find(e.id)?.original, 300)
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).schema, 'tokenwatt.knob-journal/v1')
    j.remove(e.id)
    assert.deepEqual(new KnobJournal(path).entries(), [])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('knob journal: path from TOKENWATT_KNOB_JOURNAL, XDG_STATE_HOME, then HOME; liveness of pids', () => {
  assert.equal(defaultKnobJournalPath({ TOKENWATT_KNOB_JOURNAL: '/x/j.json', XDG_STATE_HOME: '/s' }), '/x/j.json')
  assert.equal(defaultKnobJournalPath({ XDG_STATE_HOME: '/s', HOME: '/h' }), '/s/tokenwatt/knobs-journal.json')
  assert.equal(defaultKnobJournalPath({ HOME: '/h' }), '/h/.local/state/tokenwatt/knobs-journal.json')
  assert.equal(processAlive(process.pid), true)
  assert.equal(processAlive(2 ** 22 + 12345), false)
})
