import type { ChartSpec } from '../../core/report/chart-specs.js'
import type { RenderedChart } from '../../core/report/render-html.js'

export type { RenderedChart }

type VegaModule = typeof import('vega')
type VegaLiteModule = typeof import('vega-lite')
let modules: Promise<[VegaModule, VegaLiteModule]> | undefined

/** vega + vega-lite take ~100 ms to import, so only the commands that draw pay for them. */
function load(): Promise<[VegaModule, VegaLiteModule]> {
  modules ??= Promise.all([import('vega'), import('vega-lite')])
  return modules
}

const TAG = /<[^>]*>/g
const FORBIDDEN_ELEMENTS = new Set(['script', 'foreignobject', 'iframe', 'object', 'embed', 'image', 'use', 'a'])

/**
 * Markup the report must never carry, whatever the data: elements that run code, load or link
 * anything, event-handler attributes, and javascript: URLs. Checked on tags only (text and
 * attribute values are escaped by vega), so a hostile string shown as text is no false alarm.
 * Returns the offending tag, or null.
 */
export function activeContent(svg: string): string | null {
  for (const m of svg.matchAll(TAG)) {
    const tag = m[0]
    const name = /^<\/?\s*([a-zA-Z][\w:-]*)/.exec(tag)?.[1]?.toLowerCase()
    if (name && FORBIDDEN_ELEMENTS.has(name)) return tag
    for (const a of tag.matchAll(/\s([a-zA-Z_:][\w:.-]*)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/g)) {
      const attr = (a[1] ?? '').toLowerCase()
      if (attr.startsWith('on') || ((attr === 'href' || attr === 'xlink:href' || attr === 'src') && !/^["']?#/.test(a[2] ?? ''))) return tag
    }
  }
  return null
}

/**
 * Several inline SVGs share one HTML document, so vega's element ids (clip paths, gradients) are
 * prefixed per chart; otherwise `url(#clip1)` in one chart would resolve to another chart's clip.
 * Only tags are rewritten, never text.
 */
export function scopeSvgIds(svg: string, prefix: string): string {
  const ids = new Set<string>()
  for (const tag of svg.matchAll(TAG)) for (const m of tag[0].matchAll(/\sid="([^"]+)"/g)) if (m[1]) ids.add(m[1])
  if (ids.size === 0) return svg
  return svg.replace(TAG, (tag) => tag.replace(/(\sid="|url\(#|href="#)([^")]+)/g, (all, lead: string, id: string) => (ids.has(id) ? `${lead}${prefix}-${id}` : all)))
}

/**
 * Renders a Vega-Lite spec to a standalone SVG string on the server (`renderer: 'none'`, text widths
 * estimated without a canvas). The loader refuses every URL, so a spec can never fetch anything.
 */
export async function renderSvg(spec: Record<string, unknown>, idPrefix: string): Promise<string> {
  const [vega, vl] = await load()
  // vega-lite logs to the console by default; its warnings are about our own specs (tests catch them), never the user's.
  const quiet = { level: () => quiet, warn: () => quiet, info: () => quiet, debug: () => quiet, error: (...m: unknown[]) => { throw new Error(`chart ${idPrefix}: ${m.join(' ')}`) } }
  const compiled = vl.compile(spec as unknown as Parameters<VegaLiteModule['compile']>[0], { logger: quiet }).spec
  const refuse = (uri: string): Promise<never> => Promise.reject(new Error(`charts load no external data (${uri})`))
  const loader = { load: refuse, sanitize: refuse, http: refuse, file: refuse, fileAccess: false }
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error, loader: loader as unknown as ReturnType<VegaModule['loader']> })
  try {
    const svg = await view.toSVG()
    const bad = activeContent(svg)
    if (bad !== null) throw new Error(`chart ${idPrefix}: rendered SVG contains active content: ${bad.slice(0, 80)}`)
    return scopeSvgIds(svg, idPrefix)
  } finally {
    view.finalize()
  }
}

/** Renders every chart of a report; a chart with no data passes through with its reason. */
export async function renderCharts(specs: readonly ChartSpec[]): Promise<RenderedChart[]> {
  const out: RenderedChart[] = []
  for (const c of specs) {
    if (c.spec === null) out.push({ id: c.id, title: c.title, caption: c.caption, svg: null, ...(c.empty !== undefined ? { empty: c.empty } : {}) })
    else out.push({ id: c.id, title: c.title, caption: c.caption, svg: await renderSvg(c.spec, `tw-${c.id}`) })
  }
  return out
}
