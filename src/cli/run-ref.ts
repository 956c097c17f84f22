import { existsSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { NotFoundError } from '../core/errors.js'
import { readSweep } from './sweep-file.js'

const DEFAULT_OUT = 'tokenwatt-runs'

/**
 * Where a command takes a run, a sweep stands for its chosen point: a sweep id (`sweep-…`, looked up
 * under ./tokenwatt-runs), a sweep folder, or its sweep.json. Anything else is a run id as before.
 */
export function resolveRunRef(ref: string, cwd: string): string {
  const path = sweepPathOf(ref, cwd)
  if (path === null) return ref
  const sweep = readSweep(path, ref)
  const id = sweep.chosen?.runIds[0]
  if (!id) throw new NotFoundError(`sweep ${sweep.id} has no chosen point (${sweep.status}; no point met the SLO)`, { hint: `pick one of its runs instead: ${sweep.points.flatMap((p) => p.runIds).slice(0, 3).join(', ')}…` })
  return id
}

function sweepPathOf(ref: string, cwd: string): string | null {
  const p = resolve(cwd, ref)
  if (ref.endsWith('sweep.json') && existsSync(p)) return p
  if (existsSync(p) && statSync(p).isDirectory() && existsSync(join(p, 'sweep.json'))) return join(p, 'sweep.json')
  if (/^sweep-\d{8}-\d{6}-[0-9a-f]{6}$/.test(ref)) {
    const q = join(cwd, DEFAULT_OUT, ref, 'sweep.json')
    if (existsSync(q)) return q
    throw new NotFoundError(`sweep ${ref}: no ${q}`, { hint: 'give the sweep folder or its sweep.json when it was written under another --out' })
  }
  return null
}
