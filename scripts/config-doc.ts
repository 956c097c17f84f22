/**
 * docs/config.md: every key of the `tokenwatt bench` config (YAML and flags share the schema), with its
 * type, default, an example and its description, generated from the zod schema's JSON Schema.
 */
type Json = null | boolean | number | string | Json[] | { [k: string]: Json }
interface Node {
  readonly type?: string | string[]
  readonly properties?: Record<string, Node>
  readonly required?: string[]
  readonly items?: Node
  readonly oneOf?: Node[]
  readonly anyOf?: Node[]
  readonly enum?: Json[]
  readonly const?: Json
  readonly default?: Json
  readonly examples?: Json[]
  readonly description?: string
  readonly format?: string
  readonly minimum?: number
  readonly exclusiveMinimum?: number
  readonly maximum?: number
  readonly additionalProperties?: boolean | Node
}

export interface ConfigKeyRow {
  readonly path: string
  readonly type: string
  readonly required: boolean
  readonly default: string
  readonly example: string
  readonly description: string
}

const MAX_SAFE = 9007199254740991

/** Flattens a JSON Schema into one row per key, descending into objects, arrays and tagged unions. */
export function configRows(schema: Node): ConfigKeyRow[] {
  const rows: ConfigKeyRow[] = []
  const walk = (node: Node, prefix: string): void => {
    const required = new Set(node.required ?? [])
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const path = prefix === '' ? key : `${prefix}.${key}`
      rows.push({
        path,
        type: typeOf(child),
        required: required.has(key) && child.default === undefined,
        default: child.default === undefined ? '' : code(child.default),
        example: code(exampleOf(child, key)),
        description: (child.description ?? '').replace(/\s+/g, ' ').replace(/\|/g, '\\|'),
      })
      descend(child, path)
    }
  }
  const descend = (node: Node, path: string): void => {
    if (node.properties) walk(node, path)
    if (node.items) descend(node.items, `${path}[]`)
    for (const variant of [...(node.oneOf ?? []), ...(node.anyOf ?? [])]) {
      if (!variant.properties) continue
      const tag = Object.entries(variant.properties).find(([, p]) => p.const !== undefined)
      walk(variant, tag ? `${path} (${tag[0]}: ${JSON.stringify(tag[1].const).replace(/^"|"$/g, "")})` : path)
    }
  }
  walk(schema, '')
  return rows.filter((r, i) => rows.findIndex((o) => o.path === r.path) === i)
}

function typeOf(n: Node): string {
  if (n.const !== undefined) return code(n.const)
  if (n.enum) return n.enum.map(code).join(' \\| ')
  const variants = n.oneOf ?? n.anyOf
  if (variants) return [...new Set(variants.map(typeOf))].join(' or ')
  const t = Array.isArray(n.type) ? n.type.join(' \\| ') : (n.type ?? 'any')
  if (t === 'array') return `list of ${n.items ? typeOf(n.items) : 'any'}`
  if (t === 'object') {
    if (n.properties) {
      const tag = Object.entries(n.properties).find(([, p]) => p.const !== undefined)
      return tag ? `{${tag[0]}: ${JSON.stringify(tag[1].const).replace(/^"|"$/g, "")}, …}` : 'object'
    }
    return typeof n.additionalProperties === 'object' ? `map of ${typeOf(n.additionalProperties)}` : 'object'
  }
  const bounds = [n.minimum !== undefined ? `≥ ${n.minimum}` : n.exclusiveMinimum !== undefined ? `> ${n.exclusiveMinimum}` : '', n.maximum !== undefined && n.maximum !== MAX_SAFE ? `≤ ${n.maximum}` : '']
    .filter(Boolean)
    .join(', ')
  return bounds === '' ? t : `${t} (${bounds})`
}

/** A value that validates: the documented example, the default, the first choice, else one built from the type. */
function exampleOf(n: Node, key: string): Json {
  if (n.examples?.[0] !== undefined) return n.examples[0]
  if (n.default !== undefined && !(typeof n.default === 'object' && n.default !== null && Object.keys(n.default).length === 0)) return n.default
  if (n.const !== undefined) return n.const
  if (n.enum?.[0] !== undefined) return n.enum[0]
  const first = (n.oneOf ?? n.anyOf)?.[0]
  if (first) return exampleOf(first, key)
  const t = Array.isArray(n.type) ? n.type[0] : n.type
  if (t === 'integer' || t === 'number') {
    const lo = n.minimum ?? (n.exclusiveMinimum !== undefined ? n.exclusiveMinimum + (t === 'integer' ? 1 : 0.5) : 1)
    return n.maximum !== undefined && n.maximum < lo + 1 ? n.maximum : Math.max(lo, t === 'integer' ? 1 : 0.5)
  }
  if (t === 'boolean') return true
  if (t === 'string') return n.format === 'uri' ? 'http://127.0.0.1:8000' : `my-${key.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase()}`
  if (t === 'array') return n.items ? [exampleOf(n.items, key)] : []
  if (t === 'object' && n.properties) {
    const o: Record<string, Json> = {}
    for (const k of n.required ?? []) {
      const p = n.properties[k]
      if (p) o[k] = exampleOf(p, k)
    }
    return o
  }
  return {}
}

function code(v: Json): string {
  return `\`${JSON.stringify(v).replace(/\|/g, '\\|')}\``
}

/** The whole page. */
export function configMd(schema: Node): string {
  const rows = configRows(schema)
  return [
    '# Config reference',
    '',
    '<!-- Generated by `npm run docs` from src/core/config (the zod schema); do not edit. -->',
    '',
    '`tokenwatt bench -c bench.yaml` reads a YAML (or JSON) file validated by the same schema as the flags',
    '(flags win over the file). Unknown keys are errors. Secrets are never values here: only the names of the',
    'environment variables that hold them. The machine-readable form of this page is',
    '[schema/bench-config.schema.json](schema/bench-config.schema.json). A key `a.b` is written',
    '`a: { b: … }` in YAML; `x[]` is an item of the list `x`; `meters[] (kind: nvml)` are the keys of a meter',
    'whose `kind` is `nvml`.',
    '',
    '| key | type | default | example | description |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| \`${r.path}\`${r.required ? ' (required)' : ''} | ${r.type} | ${r.default} | ${r.example} | ${r.description} |`),
    '',
  ].join('\n')
}
