import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseDocument, LineCounter, isNode } from 'yaml'
import type { z } from 'zod'
import { ConfigError } from '../../core/errors.js'
import { mergeLayers } from './merge.js'

/** A parsed config file and where each value sits in it, for error messages with line numbers. */
export interface ConfigFile {
  readonly path: string
  readonly data: unknown
  lineOf(path: readonly PropertyKey[]): number | null
}

/** Reads a YAML (or JSON) config file. Syntax errors come back as one line with the file's line number. */
export function readConfigFile(file: string, cwd: string): ConfigFile {
  const path = resolve(cwd, file)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new ConfigError(`cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { hint: 'check the path given to -c/--config' })
  }
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false })
  const first = doc.errors[0]
  if (first) {
    const line = lineCounter.linePos(first.pos[0]).line
    throw new ConfigError(`${file}${line ? `:${line}` : ''}: invalid YAML: ${first.message.split('\n')[0]}`, { hint: 'fix the YAML syntax at that line' })
  }
  const data: unknown = doc.toJS() ?? {}
  if (typeof data !== 'object' || Array.isArray(data)) throw new ConfigError(`${file}: the config must be a mapping of keys to values`)
  return {
    path,
    data,
    lineOf(p) {
      const node = doc.getIn(p as unknown[], true)
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line
      // A missing key: point at its parent.
      if (p.length > 0) {
        const parent = doc.getIn(p.slice(0, -1) as unknown[], true)
        if (isNode(parent) && parent.range) return lineCounter.linePos(parent.range[0]).line
      }
      return null
    },
  }
}

/**
 * Merges defaults ← file ← flags as plain data and validates once. The first problem becomes one
 * line naming the field (`load.rate: Too small: expected number to be >0`), with the file's line
 * number when it came from the file.
 */
export function resolveConfig<S extends z.ZodType>(schema: S, file: ConfigFile | null, flags: Record<string, unknown>, hint: string): z.output<S> {
  const merged = mergeLayers(file?.data ?? {}, flags)
  const result = schema.safeParse(merged)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  if (!issue) throw new ConfigError('invalid configuration', { hint })
  const path = issue.path.map(String).join('.')
  let where = ''
  if (file) {
    const keys = issue.code === 'unrecognized_keys' ? [...issue.path, (issue as { keys: string[] }).keys[0] ?? ''] : issue.path
    const line = file.lineOf(keys)
    if (line !== null && inFile(file.data, keys)) where = ` (${file.path}:${line})`
  }
  const field = issue.code === 'unrecognized_keys' ? [path, (issue as { keys: string[] }).keys.join(', ')].filter(Boolean).join('.') : path || '(config)'
  const message = issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message
  const more = result.error.issues.length > 1 ? ` (+${result.error.issues.length - 1} more)` : ''
  throw new ConfigError(`${field}: ${message}${where}${more}`, { hint })
}

function inFile(data: unknown, path: readonly PropertyKey[]): boolean {
  let cur: unknown = data
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return false
    if (!(String(seg) in (cur))) return false
    cur = (cur as Record<string, unknown>)[String(seg)]
  }
  return true
}
