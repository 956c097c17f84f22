import { existsSync, readFileSync } from 'node:fs'
import { ConfigError, NotFoundError } from '../core/errors.js'
import { SWEEP_SCHEMA, type SweepResult } from '../core/sweep/sweep-result.js'
import { SweepResultSchema } from '../core/sweep/sweep-result-schema.js'

/** Reads a sweep.json (for --resume, compare, verify, plan). */
export function readSweep(path: string, name: string): SweepResult {
  if (!existsSync(path)) throw new NotFoundError(`sweep ${name}: no ${path}`, { hint: 'give the sweep id printed by `tokenwatt sweep` (a folder under --out)' })
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (e) {
    throw new ConfigError(`sweep ${name}: ${path} is not JSON (${(e as Error).message})`)
  }
  if ((parsed as { schema?: unknown }).schema !== SWEEP_SCHEMA) throw new ConfigError(`sweep ${name}: ${path} is not a ${SWEEP_SCHEMA} file`)
  const checked = SweepResultSchema.safeParse(parsed)
  if (!checked.success) throw new ConfigError(`sweep ${name}: ${path}: ${checked.error.issues[0]?.path.join('.')}: ${checked.error.issues[0]?.message}`, { hint: 'the file was edited or written by another version' })
  // JSON has no Infinity: an infeasible point's cost was written as null
  const points = checked.data.points.map((p) => ({ ...p, score: { ...p.score, cost: p.score.cost ?? Number.POSITIVE_INFINITY } }))
  return { ...(checked.data as unknown as SweepResult), points: points as unknown as SweepResult['points'] }
}
