// A deliberately small, independent OpenAI SSE reader for the engine tests (not the product client),
// so engine tests do not depend on the code they are meant to check against.
/* eslint-disable @typescript-eslint/no-explicit-any -- tests inspect JSON payloads of an external protocol loosely */

export interface StreamResult {
  readonly status: number
  /** Parsed `data:` payloads, in order, without [DONE]. */
  readonly events: Record<string, any>[]
  /** Text pieces of content-bearing chunks (non-empty content/text). */
  readonly pieces: string[]
  readonly usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null
  readonly finishReason: string | null
  readonly sawDone: boolean
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, json: await res.json() }
}

/**
 * POSTs `body` (with stream: true) and reads the SSE stream to the end, or until `stopAfter`
 * content chunks, when it aborts the request (a client disconnect).
 */
export async function stream(url: string, body: Record<string, unknown>, opts: { stopAfter?: number; onPiece?: (n: number) => void } = {}): Promise<StreamResult> {
  const controller = new AbortController()
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }), signal: controller.signal })
  const events: Record<string, any>[] = []
  const pieces: string[] = []
  let usage: StreamResult['usage'] = null
  let finishReason: string | null = null
  let sawDone = false
  if (res.body === null) return { status: res.status, events, pieces, usage, finishReason, sawDone }
  const decoder = new TextDecoder()
  let buf = ''
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true })
      let i: number
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, i)
        buf = buf.slice(i + 2)
        for (const line of frame.split('\n')) {
          if (!line.startsWith('data: ')) continue
          const data = line.slice(6)
          if (data === '[DONE]') {
            sawDone = true
            continue
          }
          const ev = JSON.parse(data) as Record<string, any>
          events.push(ev)
          if (ev.usage) usage = ev.usage
          const choice = ev.choices?.[0]
          if (choice?.finish_reason) finishReason = choice.finish_reason
          const text: unknown = choice?.delta?.content ?? choice?.text
          if (typeof text === 'string' && text !== '') {
            pieces.push(text)
            opts.onPiece?.(pieces.length)
            if (opts.stopAfter !== undefined && pieces.length >= opts.stopAfter) {
              controller.abort()
              return { status: res.status, events, pieces, usage, finishReason, sawDone }
            }
          }
        }
      }
    }
  } catch (e) {
    if (!controller.signal.aborted) throw e
  }
  return { status: res.status, events, pieces, usage, finishReason, sawDone }
}

/** Parses Prometheus text into name → value (unlabelled series only). */
export async function scrape(rootUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${rootUrl}/metrics`)).text()
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue
    const m = /^([^\s{]+)\s+(\S+)$/.exec(line)
    if (m) out.set(m[1] ?? '', Number(m[2]))
  }
  return out
}

export async function waitFor(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await cond()) return
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`timed out waiting for ${what}`)
}
